// Text fields are validated after trimming (" alice " is "alice", "   " is empty): a preValidation
// hook, because JSON Schema cannot trim.
export function trimFields(...fields: string[]) {
  return async (request: { body: unknown }) => {
    const body = request.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object') return;
    for (const f of fields) if (typeof body[f] === 'string') body[f] = (body[f] as string).trim();
  };
}
