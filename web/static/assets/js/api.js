// The REST API as the portal uses it: same-origin fetch with the session cookie,
// the CSRF token on every write, problem+json errors turned into ApiError.

const CSRF_KEY = 'enfance.csrf';

/** An API answer that is not 2xx, with its problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `Erreur ${status}`);
    this.status = status;
    this.problem = problem || {};
  }

  /** The route does not exist on this server yet (or not for this method). */
  get unavailable() {
    const type = this.problem.type || '';
    return (this.status === 404 && type.endsWith('/not-found')) ||
      (this.status === 405 && type.endsWith('/method-not-allowed'));
  }
}

// The cookie is HttpOnly; the CSRF token comes with the login answer and is kept
// for the browser's other tabs. Without it, writes are refused (403) and the
// portal asks to log in again.
export function setCsrf(token) {
  if (token) localStorage.setItem(CSRF_KEY, token);
  else localStorage.removeItem(CSRF_KEY);
}

export function hasCsrf() {
  return !!localStorage.getItem(CSRF_KEY);
}

let onUnauthorized = () => {};
/** Sets what happens when the session has ended (401). */
export function whenUnauthorized(fn) { onUnauthorized = fn; }

/**
 * Calls the API. body: a plain object (sent as JSON) or a FormData (multipart).
 * opts.idempotencyKey sets Idempotency-Key; opts.raw returns the Response.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    headers['X-CSRF-Token'] = localStorage.getItem(CSRF_KEY) || '';
  }
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  const url = path.startsWith('/') && !path.startsWith('/api/') && !opts.absolute ? '/api/v1' + path : path;
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, { title: 'Connexion impossible', detail: 'Le serveur ne répond pas. Vérifiez votre connexion et réessayez.' });
  }
  if (opts.raw) return res;
  if (res.status === 204 || res.status === 202 && res.headers.get('Content-Length') === '0') return null;
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    const err = new ApiError(res.status, data || { title: `Erreur ${res.status}` });
    if (res.status === 401 && !opts.noRedirect) onUnauthorized(err);
    if (res.status === 403 && (err.problem.type || '').endsWith('/csrf') && !opts.noRedirect) onUnauthorized(err);
    throw err;
  }
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
export const patch = (path, body, opts) => api('PATCH', path, body, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

/** A new idempotency key, one per money write the user means. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
