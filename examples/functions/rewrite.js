// A header rewrite on the response head: the upstream's internal headers
// out, a cache policy and the API version in.
export default (response) => {
  const headers = new Headers(response.headers);
  headers.delete('x-internal-node');
  headers.set('cache-control', 'private, max-age=30');
  headers.set('x-api-version', '2');
  return new Response(null, { status: response.status, headers });
};
