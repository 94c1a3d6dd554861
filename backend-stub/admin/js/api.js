// The JSON API (docs/api.md) as the portal uses it. The token lives in sessionStorage,
// so it is gone when the tab closes, and it travels only in the Authorization header:
// never in a URL, never in a cookie.

const TOKEN_KEY = 'mist-admin-token';
const API_BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Listeners for a 401 on a request that carried a token: the session has ended.
const sessionEndedListeners = new Set();

export function onSessionEnded(listener) {
  sessionEndedListeners.add(listener);
}

async function errorFromResponse(response) {
  let code = 'server-error';
  let message = `The server returned ${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  const retryAfter = response.headers.get('Retry-After');
  return new ApiError(response.status, code, message, retryAfter ? Number(retryAfter) : null);
}

// Sends one request and returns the parsed JSON body (null for 204). `body` is either a
// plain object, sent as JSON, or a Blob/File, sent as is with its own type.
export async function request(method, path, { body, token = getToken(), signal } = {}) {
  const headers = {};
  let payload;
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }
  if (body instanceof Blob) {
    payload = body;
    headers['Content-Type'] = body.type || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }

  let response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers,
      body: payload,
      signal,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (error) {
    if (error.name === 'AbortError') {
      throw error;
    }
    throw new ApiError(0, 'network', `Cannot reach the server: ${error.message}`);
  }

  if (!response.ok) {
    const error = await errorFromResponse(response);
    if (response.status === 401 && token) {
      for (const listener of sessionEndedListeners) {
        listener(error);
      }
    }
    throw error;
  }
  if (response.status === 204) {
    return null;
  }
  const type = response.headers.get('Content-Type') ?? '';
  return type.startsWith('application/json') ? response.json() : response.blob();
}

export const api = {
  login: (username, password) =>
    request('POST', '/auth/login', { body: { username, password }, token: null }),
  logout: (token) => request('POST', '/auth/logout', { token }),
  me: () => request('GET', '/me'),

  listUsers: () => request('GET', '/admin/users'),
  createUser: (name, password, isAdmin) =>
    request('POST', '/admin/users', { body: { name, password, is_admin: isAdmin } }),
  updateUser: (name, changes) =>
    request('PATCH', `/admin/users/${encodeURIComponent(name)}`, { body: changes }),

  listGames: () => request('GET', '/games'),
  getGame: (slug) => request('GET', `/games/${encodeURIComponent(slug)}`),
  getCover: (slug) => request('GET', `/games/${encodeURIComponent(slug)}/cover`),
  createGame: (game) => request('POST', '/admin/games', { body: game }),
  updateGame: (slug, changes) =>
    request('PATCH', `/admin/games/${encodeURIComponent(slug)}`, { body: changes }),
  putCover: (slug, file) =>
    request('PUT', `/admin/games/${encodeURIComponent(slug)}/cover`, { body: file }),
  deleteCover: (slug) => request('DELETE', `/admin/games/${encodeURIComponent(slug)}/cover`),

  listPatches: (slug) => request('GET', `/games/${encodeURIComponent(slug)}/patches`),
  retryPatch: (slug, from, to) =>
    request('POST', `/admin/games/${encodeURIComponent(slug)}/patches/${from}/${to}/retry`),
};
