/** The admin listener: metrics now, the admin API later. (Filled in by the metrics work.) */
import { Type, type Static } from '@sinclair/typebox';

export const AdminSchema = Type.Optional(
  Type.Object(
    {
      address: Type.String({ format: 'listen-address', description: 'host:port of the admin listener; keep it on loopback or a management network' }),
    },
    { additionalProperties: false, description: 'the admin listener' },
  ),
);

export type AdminConfig = Static<typeof AdminSchema>;
