import { InvalidRequestError, type OAuthError } from './errors';

/** A transport-neutral HTTP request: what the handlers and the local server hand to the core. */
export interface HttpRequest {
  readonly method: string;
  /** Header names in any case; a repeated header joined with commas, as API Gateway does. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  /** The raw query string, without `?` (API Gateway's `rawQueryString`). */
  readonly query?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** `Set-Cookie` values, one per cookie: a header record holds one value per name, and cookies cannot be joined. */
  readonly cookies?: readonly string[];
}

/** RFC 6749 §5.1: token responses must never be cached. */
export const NO_STORE_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
} as const;

export function jsonResponse(status: number, body: unknown, headers: Record<string, string>): HttpResponse {
  return { status, headers, body: JSON.stringify(body) };
}

export function errorResponse(error: OAuthError): HttpResponse {
  return jsonResponse(
    error.status,
    { error: error.error, error_description: error.description },
    { ...NO_STORE_HEADERS, ...error.headers },
  );
}

export function header(request: HttpRequest, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(request.headers)) {
    if (key.toLowerCase() === wanted) return request.headers[key];
  }
  return undefined;
}

const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

function requireFormContentType(contentType: string | undefined): void {
  if (contentType === FORM_MEDIA_TYPE) return; // As clients send it: no parameters, nothing to normalise.
  if (contentType === undefined) throw new InvalidRequestError(`Content-Type must be ${FORM_MEDIA_TYPE}`);
  const [mediaType = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== FORM_MEDIA_TYPE) throw new InvalidRequestError(`Content-Type must be ${FORM_MEDIA_TYPE}`);
  for (const parameter of parameters) {
    const [name, value = ''] = parameter.split('=').map((part) => part.trim());
    if (name === 'charset' && value.replace(/"/g, '') !== 'utf-8') {
      throw new InvalidRequestError('the form body must be encoded in UTF-8');
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The request body as text: at most `maxBytes` bytes of UTF-8 (base64 decoded when API Gateway encoded it), else
 * `invalid_request`.
 */
export function bodyText(request: HttpRequest, maxBytes: number): string {
  const raw = request.body ?? '';
  const tooLarge = () => new InvalidRequestError('the request body is too large');
  if (!request.isBase64Encoded) {
    // Already text: only its size in UTF-8 matters. The length check first, so a huge body is never measured.
    if (raw.length > maxBytes || Buffer.byteLength(raw) > maxBytes) throw tooLarge();
    return raw;
  }
  // Check the encoded length first so an oversized body is never decoded.
  if (raw.length > Math.ceil(maxBytes / 3) * 4) throw tooLarge();
  const bytes = Buffer.from(raw, 'base64');
  if (bytes.length > maxBytes) throw tooLarge();
  try {
    return utf8.decode(bytes);
  } catch {
    throw new InvalidRequestError('the request body is not valid UTF-8');
  }
}

/** Form parameters; only the names in `repeatable` may occur more than once (RFC 6749 §3.2, RFC 8707 §2). */
export interface FormParameters {
  get(name: string): string | undefined;
  getAll(name: string): string[];
  has(name: string): boolean;
}

/**
 * Reads an `application/x-www-form-urlencoded` POST body. Rejects a repeated parameter, an oversized or non-UTF-8
 * body and any other content type with `invalid_request`. Empty values count as omitted (RFC 6749 §3.1).
 */
export function readForm(request: HttpRequest, maxBytes: number, repeatable: readonly string[]): FormParameters {
  requireFormContentType(header(request, 'content-type'));
  return parseParameters(bodyText(request, maxBytes), repeatable);
}

/**
 * Parameters of a query string or a form body (`application/x-www-form-urlencoded` syntax). A repeated parameter
 * other than those in `repeatable` is `invalid_request`; empty values count as omitted (RFC 6749 §3.1).
 */
export function parseParameters(text: string, repeatable: readonly string[]): FormParameters {
  // One pass: each name's non-empty values, in order; the first repeated name that may not repeat is refused.
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    let list = values.get(name);
    if (list === undefined) {
      list = [];
      values.set(name, list);
    } else if (!repeatable.includes(name)) {
      // The name is ours to echo only if it is short and plain; never echo values.
      const shown = /^[a-z_]{1,40}$/.test(name) ? ` ${name}` : '';
      throw new InvalidRequestError(`parameter${shown} must not be repeated`);
    }
    if (value !== '') list.push(value);
  }
  return {
    get: (name) => values.get(name)?.[0],
    getAll: (name) => values.get(name)?.slice() ?? [],
    has: (name) => (values.get(name)?.length ?? 0) > 0,
  };
}
