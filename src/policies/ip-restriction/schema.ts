import { Type } from '@sinclair/typebox';
import { Cidr } from '../../config/types.js';

export const IpRestrictionSchema = Type.Object({
  allow: Type.Array(Cidr(), {
    default: [],
    description: 'when not empty, only client addresses in these networks pass (IPv4 and IPv6, e.g. "10.0.0.0/8", "2001:db8::/32")',
  }),
  deny: Type.Array(Cidr(), { default: [], description: 'client addresses in these networks are refused, even when allowed' }),
  dynamic: Type.Boolean({ default: true, description: 'also refuse addresses on the gateway\'s dynamic deny list (fed by automatic defense)' }),
  status: Type.Integer({ minimum: 400, maximum: 499, default: 403, description: 'the status of a refused request' }),
});
