// A small JSON API as a function: the route's upstream. Orders live in the
// function's own key-value store (env.kv), shared by every gateway of a
// fleet when the store is Redis.
interface Env {
  kv: { get(key: string): Promise<string | null>; set(key: string, value: string, options?: { ttl?: number }): Promise<void> };
}
interface Order {
  id: string;
  item: string;
  quantity: number;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const id = url.pathname.split('/')[2];
    if (request.method === 'POST' && !id) {
      const body = (await request.json()) as Partial<Order>;
      if (typeof body.item !== 'string' || typeof body.quantity !== 'number') return Response.json({ error: 'item and quantity are required' }, { status: 422 });
      const order: Order = { id: String(Date.now()), item: body.item, quantity: body.quantity };
      await env.kv.set(`order:${order.id}`, JSON.stringify(order), { ttl: 86400 });
      return Response.json(order, { status: 201, headers: { location: `/orders/${order.id}` } });
    }
    if (request.method === 'GET' && id) {
      const stored = await env.kv.get(`order:${id}`);
      return stored ? new Response(stored, { headers: { 'content-type': 'application/json' } }) : Response.json({ error: 'no such order' }, { status: 404 });
    }
    return Response.json({ error: 'not found' }, { status: 404 });
  },
};
