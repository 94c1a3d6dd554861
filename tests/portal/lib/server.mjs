// Starts a real mist-backend-stub on a loopback port with a fresh data folder, and talks
// to it through the JSON API, for the portal's end-to-end tests.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const buildRoot = process.env.MIST_BUILD_ROOT;
const sourceRoot = process.env.MIST_SOURCE_ROOT;

export const paths = {
  server: buildRoot && path.join(buildRoot, 'backend-stub', 'mist-backend-stub'),
  mistpipe: buildRoot && path.join(buildRoot, 'backend-stub', 'mistpipe'),
  portal: sourceRoot && path.join(sourceRoot, 'backend-stub', 'admin'),
};

// Runs a program to its end; rejects with its output when it exits non-zero.
export function run(program, args, { input = '', env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        resolve(stdout);
      } else {
        reject(new Error(`${path.basename(program)} ${args.join(' ')} exited with ${code}:\n${stderr}${stdout}`));
      }
    });
    child.stdin.end(input);
  });
}

export class TestServer {
  static async start({ adminName, adminPassword }) {
    for (const [name, value] of Object.entries(paths)) {
      if (!value) {
        throw new Error(`No path for ${name}: run the test through meson test, which sets ` +
          'MIST_BUILD_ROOT and MIST_SOURCE_ROOT');
      }
    }
    const server = new TestServer();
    server.dir = await mkdtemp(path.join(tmpdir(), 'mist-portal-'));
    server.dataDir = path.join(server.dir, 'data');
    await mkdir(server.dataDir);
    await run(paths.mistpipe, ['--data-dir', server.dataDir, 'user', 'add', '--admin', adminName], {
      input: `${adminPassword}\n`,
    });
    await server.#spawn();
    return server;
  }

  async #spawn() {
    // xdelta3 builds the deltas also where the server has no zstd patch encoder, so a
    // retried patch set can reach "ready" in every build.
    const config = path.join(this.dir, 'server.conf');
    await writeFile(config, '[server]\nuse-xdelta3=true\n');
    return new Promise((resolve, reject) => {
      this.log = '';
      const args = ['--config', config, '--data-dir', this.dataDir, '--listen', '127.0.0.1:0'];
      this.process = spawn(paths.server, args, {
        env: { ...process.env, MIST_ADMIN_PORTAL_DIR: paths.portal },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.exited = new Promise((resolveExit) => {
        this.process.on('exit', (code, signal) => resolveExit({ code, signal }));
      });
      const timer = setTimeout(() => reject(new Error(`The server did not start in 60 s:\n${this.log}`)), 60000);
      this.process.stderr.on('data', (chunk) => (this.log += chunk));
      this.process.stdout.on('data', (chunk) => {
        this.log += chunk;
        const match = /^Listening on (http:\/\/\S+)$/m.exec(this.log);
        if (match && !this.url) {
          this.url = match[1];
          clearTimeout(timer);
          resolve();
        }
      });
      this.process.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        if (!this.url) {
          reject(new Error(`The server exited (${code ?? signal}) before listening:\n${this.log}`));
        }
      });
    });
  }

  // Stops the server with SIGTERM and returns its exit status; under the sanitizers a
  // leak or an error makes it non-zero.
  async stop() {
    if (!this.process) {
      return null;
    }
    this.process.kill('SIGTERM');
    const status = await this.exited;
    this.process = null;
    await rm(this.dir, { recursive: true, force: true });
    return status;
  }

  // Sends one API request the way a program would; returns { status, headers, body }.
  async api(method, apiPath, { token, json, body, headers = {} } = {}) {
    const requestHeaders = { ...headers };
    if (token) {
      requestHeaders.Authorization = `Bearer ${token}`;
    }
    let payload = body;
    if (json !== undefined) {
      payload = JSON.stringify(json);
      requestHeaders['Content-Type'] = 'application/json';
    }
    const response = await fetch(`${this.url}/api/v1${apiPath}`, {
      method,
      headers: requestHeaders,
      body: payload,
    });
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  async login(name, password) {
    const response = await this.api('POST', '/auth/login', { json: { username: name, password } });
    if (response.status !== 200) {
      throw new Error(`Login of ${name} failed with ${response.status}: ${JSON.stringify(response.body)}`);
    }
    return response.body.token;
  }

  // Pushes a version made of `files` ({ "bin/game": "contents" }) with mistpipe.
  async push(token, slug, version, files) {
    const buildDir = path.join(this.dir, `build-${slug}-${version}`);
    for (const [name, contents] of Object.entries(files)) {
      const file = path.join(buildDir, name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, contents);
    }
    await run(paths.mistpipe, ['--server', this.url, 'push', slug, '--version', version, buildDir], {
      env: { MIST_TOKEN: token, XDG_CONFIG_HOME: path.join(this.dir, 'config') },
    });
  }
}
