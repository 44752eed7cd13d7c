// An auth hook: callers must send the key the gateway holds as a secret;
// the key never reaches the upstream, which gets who called instead.
interface Env {
  secrets: { PARTNER_KEY: string };
}

export default async function (request: Request, env: Env): Promise<Request | Response> {
  const key = request.headers.get('x-partner-key');
  if (key === null || key !== env.secrets.PARTNER_KEY) {
    return Response.json({ error: 'a valid x-partner-key is required' }, { status: 401, headers: { 'www-authenticate': 'PartnerKey' } });
  }
  request.headers.delete('x-partner-key');
  request.headers.set('x-partner', 'acme');
  return request;
}
