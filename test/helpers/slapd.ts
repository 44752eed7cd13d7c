/**
 * A real LDAP directory for the tests: Debian's slapd, started with its own
 * temporary config and data directory, a self-signed certificate for
 * 127.0.0.1 (made with openssl), listening for ldap:// (StartTLS) and ldaps://
 * on free loopback ports. People live under ou=people, groups (with the
 * memberOf overlay) under ou=groups.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';

export const BASE_DN = 'dc=example,dc=test';
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = 'directory-admin-secret';

export interface TestDirectory {
  /** ldap://127.0.0.1:PORT (StartTLS available) */
  ldapUrl: string;
  /** ldaps://127.0.0.1:PORT */
  ldapsUrl: string;
  /** The PEM certificate the server presents (self-signed). */
  ca: string;
  addUser(uid: string, password: string, groups?: string[]): Promise<void>;
  setPassword(uid: string, password: string): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`slapd exited: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`slapd did not listen on ${port}: ${output()}`);
}

export async function startDirectory(): Promise<TestDirectory> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-slapd-'));
  mkdirSync(join(dir, 'data'));
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt'),
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]); // awaited: a synchronous keygen held the event loop of every test file beside this one
  writeFileSync(
    join(dir, 'slapd.conf'),
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
TLSCertificateFile ${dir}/server.crt
TLSCertificateKeyFile ${dir}/server.key
database mdb
suffix "${BASE_DN}"
rootdn "${ADMIN_DN}"
rootpw ${ADMIN_PASSWORD}
directory ${dir}/data
maxsize 10485760
overlay memberof
`,
  );
  const ldapPort = await freePort();
  const ldapsPort = await freePort();
  const ldapUrl = `ldap://127.0.0.1:${ldapPort}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  // -d keeps slapd in the foreground, so the test owns the process.
  const child = spawn('slapd', ['-f', join(dir, 'slapd.conf'), '-h', `${ldapUrl}/ ${ldapsUrl}/`, '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await waitForPort(ldapPort, child, () => output);

  const admin = async <T>(work: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ url: ldapUrl });
    try {
      await client.bind(ADMIN_DN, ADMIN_PASSWORD);
      return await work(client);
    } finally {
      await client.unbind();
    }
  };
  await admin(async (c) => {
    await c.add(BASE_DN, { objectClass: ['top', 'dcObject', 'organization'], o: 'Example', dc: 'example' });
    await c.add(`ou=people,${BASE_DN}`, { objectClass: ['organizationalUnit'], ou: 'people' });
    await c.add(`ou=groups,${BASE_DN}`, { objectClass: ['organizationalUnit'], ou: 'groups' });
    await c.add(`cn=gateway,${BASE_DN}`, { objectClass: ['simpleSecurityObject', 'organizationalRole'], cn: 'gateway', userPassword: 'gateway-bind-secret' });
  });

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  return {
    ldapUrl,
    ldapsUrl,
    ca: readFileSync(join(dir, 'server.crt'), 'utf8'),
    addUser: (uid, password, groups = []) =>
      admin(async (c) => {
        const dn = `uid=${uid},ou=people,${BASE_DN}`;
        await c.add(dn, { objectClass: ['inetOrgPerson'], uid, cn: uid, sn: uid, userPassword: password, mail: `${uid}@example.test` });
        for (const group of groups) {
          const groupDn = `cn=${group},ou=groups,${BASE_DN}`;
          const { searchEntries } = await c.search(`ou=groups,${BASE_DN}`, { filter: `(cn=${group})` });
          if (searchEntries.length === 0) await c.add(groupDn, { objectClass: ['groupOfNames'], cn: group, member: dn });
          else await c.modify(groupDn, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
        }
      }),
    setPassword: (uid, password) =>
      admin((c) =>
        c.modify(`uid=${uid},ou=people,${BASE_DN}`, new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [password] }) })),
      ),
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
