// Serves stored objects at /uploads/<key> (decisions: one origin, relative URLs), streamed from S3
// with ETag/304, single byte ranges (206/416) and immutable caching: keys never change content.
// Public, as Discord's CDN is: keys carry 64 random bits (uploads.ts), so a URL is known only to
// those a message, avatar or emoji showed it to, and <img>/<video> tags need no credentials.
// Only image, video and audio types that cannot carry script render inline; everything else
// (html, svg, pdf, text...) is a download, and nothing is ever sniffed.
import { Type } from '@fastify/type-provider-typebox';
import type { App, ApiDeps } from '../../app.ts';
import { notFound } from '../../errors.ts';

const INLINE = new Set([
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp',
  'video/mp4', 'video/webm', 'video/ogg', 'video/quicktime',
  'audio/mpeg', 'audio/mp4', 'audio/ogg', 'audio/wav', 'audio/x-wav', 'audio/webm', 'audio/flac', 'audio/aac',
]);
/** Key segments as uploads.ts writes them: no empty, dot-leading or traversal segments. */
const KEY = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/){1,8}[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const CACHE = 'public, max-age=31536000, immutable';

type Range = { start: number; end: number };

/** One `bytes=` range against `size`: the range, 'unsatisfiable', or null to serve the whole object (absent, malformed or multiple ranges, as RFC 9110 allows). */
export function parseRange(header: string | undefined, size: number): Range | 'unsatisfiable' | null {
  const m = header?.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size || size === 0) return 'unsatisfiable';
  return { start, end };
}

const matches = (ifNoneMatch: string | undefined, etag: string | undefined) =>
  !!etag && !!ifNoneMatch && (ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag));

export async function uploadRoutes(app: App, { storage }: ApiDeps) {
  app.get('/uploads/*', {
    config: { public: true },
    schema: { hide: true, params: Type.Object({ '*': Type.String({ maxLength: 600 }) }) },
  }, async (request, reply) => {
    const key = request.params['*'];
    if (!KEY.test(key)) throw notFound('File');
    const ifNoneMatch = request.headers['if-none-match'];
    // A range needs the size first (a HEAD), so the 206/416 decision is ours, whatever the S3.
    const head = request.headers.range ? await storage.head(key) : null;
    if (request.headers.range && !head) throw notFound('File');
    const range = head ? parseRange(request.headers.range, head.contentLength) : null;
    if (head && matches(ifNoneMatch, head.etag)) return reply.status(304).header('etag', head.etag).header('cache-control', CACHE).send();
    if (head && range === 'unsatisfiable') {
      return reply.status(416).header('content-range', `bytes */${head.contentLength}`).send({ error: 'Range not satisfiable' });
    }
    const part = range && range !== 'unsatisfiable' ? range : null;
    const object = await storage.get(key, part ? `bytes=${part.start}-${part.end}` : undefined);
    if (!object) throw notFound('File');
    if (matches(ifNoneMatch, object.etag)) {
      object.body.destroy();
      return reply.status(304).header('etag', object.etag).header('cache-control', CACHE).send();
    }
    const type = object.contentType.split(';')[0]!.trim().toLowerCase();
    reply
      .header('content-type', object.contentType)
      .header('content-length', object.contentLength)
      .header('accept-ranges', 'bytes')
      .header('cache-control', CACHE)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox");
    if (object.etag) reply.header('etag', object.etag);
    if (!INLINE.has(type)) reply.header('content-disposition', `attachment; filename="${key.split('/').pop()}"`);
    if (part && head) reply.status(206).header('content-range', `bytes ${part.start}-${part.end}/${head.contentLength}`);
    return reply.send(object.body);
  });
}
