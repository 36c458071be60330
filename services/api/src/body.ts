// preValidation hooks that shape a JSON body before the schema sees it, for what JSON Schema
// cannot express.

/** Text fields are validated after trimming (" alice " is "alice", "   " is empty). */
export function trimFields(...fields: string[]) {
  return async (request: { body: unknown }) => {
    const body = request.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object') return;
    for (const f of fields) if (typeof body[f] === 'string') body[f] = (body[f] as string).trim();
  };
}

/** A POST without a body means "all defaults", not a 400 for a body that is not an object. */
export async function defaultBody(request: { body: unknown }) {
  request.body ??= {};
}
