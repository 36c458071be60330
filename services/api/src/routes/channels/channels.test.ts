// Channel routes against a real API, Postgres and socket.io clients: the channel list with its
// visibility, permissions and counts; create, update, delete and reorder; permission overrides with
// their hierarchy and escalation rules; and the events each change sends to the server room.
import t from 'tap';
import { RECHECK_ACCESS, rooms } from '@nexusguild/shared/events';
import { ALL_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS, Flags } from '@nexusguild/shared/permissions';
import { addMember, createGuild, grantRole, roomAck, type GuildFixture, type Registered } from '../../../../../test/guild.ts';
import { nextEvent, record, setup, type TestSocket } from '../../../../../test/harness.ts';
import { MAX_CHANNELS } from './schema.ts';

const env = await setup(t);
const sql = env.resources.sql;

const OWNER_PERMS = ALL_PERMISSIONS.toString(); // "1511827959807"
const EVERYONE = DEFAULT_EVERYONE_PERMISSIONS;
const CHANNEL_KEYS = [
  'category_id', 'created_at', 'id', 'is_private', 'name', 'parent_id', 'parent_message_id', 'position', 'serverId',
  'server_id', 'topic', 'type', 'type_int',
];
const LIST_KEYS = [...CHANNEL_KEYS, 'mention_count', 'my_permissions', 'unread_count'].sort();

interface Item { id: string; name: string; type: string; position: number; parent_id: string | null; my_permissions: string }

const call = (method: string, path: string, who?: Registered, json?: unknown) =>
  env.request(method, path, { cookie: who?.cookie, ...(json !== undefined ? { json } : {}) });

async function list(guild: GuildFixture, who: Registered = guild.owner): Promise<Item[]> {
  const res = await call('GET', `/api/channels/${guild.server.id}`, who);
  if (res.status !== 200) throw new Error(`list failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const byName = (items: Item[], name: string) => items.find((c) => c.name === name);

async function create(guild: GuildFixture, body: Record<string, unknown>, who: Registered = guild.owner) {
  const res = await call('POST', `/api/channels/${guild.server.id}`, who, body);
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Item;
}

async function putOverride(channelId: string, targetId: string, body: Record<string, unknown>, who: Registered) {
  return call('PUT', `/api/channels/${channelId}/permissions/${targetId}`, who, body);
}

/** A thread under `parentId`, inserted directly: thread routes belong to the messages issue. */
async function insertThread(guild: GuildFixture, parentId: string, name = 'thread'): Promise<string> {
  const id = env.resources.ids.next();
  await sql`INSERT INTO channels (id, server_id, type, name, parent_id) VALUES (${id}, ${guild.server.id}, 'thread', ${name}, ${parentId})`;
  return id;
}

const serverSocket = (socket: TestSocket) => env.gateway.io.of('/').sockets.get(socket.id!);

t.test('every route needs a session', async (t) => {
  const routes: [string, string][] = [
    ['GET', '/api/channels/1'], ['POST', '/api/channels/1'], ['PATCH', '/api/channels/1'], ['DELETE', '/api/channels/1'],
    ['PATCH', '/api/channels/1/reorder'], ['GET', '/api/channels/1/permissions'], ['GET', '/api/channels/1/permissions/2'],
    ['PUT', '/api/channels/1/permissions/2'], ['DELETE', '/api/channels/1/permissions/2'],
  ];
  for (const [method, path] of routes) {
    const res = await env.request(method, path, { json: method === 'PATCH' && path.endsWith('reorder') ? [] : {} });
    t.equal(res.status, 401, `${method} ${path}`);
    t.same(res.body, { error: 'Authentication required' });
  }
});

t.test('bad ids are 400, unknown ones 404', async (t) => {
  const guild = await createGuild(env, 'ids');
  const owner = guild.owner;
  const bodies: Record<string, unknown> = { POST: { name: 'x' }, PATCH: { name: 'x' }, PUT: { target_type: 'role' } };
  const paths = (id: string): [string, string][] => [
    ['GET', `/api/channels/${id}`], ['POST', `/api/channels/${id}`], ['PATCH', `/api/channels/${id}`], ['DELETE', `/api/channels/${id}`],
    ['GET', `/api/channels/${id}/permissions`], ['GET', `/api/channels/${id}/permissions/${guild.server.id}`],
    ['PUT', `/api/channels/${id}/permissions/${guild.server.id}`], ['DELETE', `/api/channels/${id}/permissions/${guild.server.id}`],
  ];
  for (const bad of ['abc', '123456789012345678901', '-1', '99999999999999999999']) {
    for (const [method, path] of paths(encodeURIComponent(bad))) {
      const res = await call(method, path, owner, bodies[method]);
      t.equal(res.status, 400, `${method} ${path}`);
      t.type(res.body.error, 'string');
    }
    const reorder = await call('PATCH', `/api/channels/${encodeURIComponent(bad)}/reorder`, owner, []);
    t.equal(reorder.status, 400, `reorder ${bad}`);
  }
  for (const [method, path] of paths('12345')) {
    const res = await call(method, path, owner, bodies[method]);
    t.equal(res.status, 404, `${method} ${path}`);
    t.match(res.body.error, /^(Server|Channel) not found$/);
  }
  t.equal((await call('PATCH', '/api/channels/12345/reorder', owner, [])).status, 404, 'reorder of an unknown server');
  // A known channel but an id that is not a target.
  const bad = await call('GET', `/api/channels/${guild.general.id}/permissions/abc`, owner);
  t.equal(bad.status, 400);
});

t.test('non-members get 403 on every route', async (t) => {
  const guild = await createGuild(env, 'outsiders');
  const stranger = await env.register('stranger');
  const { id } = guild.general;
  const s = guild.server.id;
  const routes: [string, string, unknown?][] = [
    ['GET', `/api/channels/${s}`], ['POST', `/api/channels/${s}`, { name: 'x' }], ['PATCH', `/api/channels/${id}`, { name: 'x' }],
    ['DELETE', `/api/channels/${id}`], ['PATCH', `/api/channels/${s}/reorder`, []], ['GET', `/api/channels/${id}/permissions`],
    ['GET', `/api/channels/${id}/permissions/${s}`], ['PUT', `/api/channels/${id}/permissions/${s}`, { target_type: 'role' }],
    ['DELETE', `/api/channels/${id}/permissions/${s}`],
  ];
  for (const [method, path, body] of routes) {
    const res = await call(method, path, stranger, body);
    t.equal(res.status, 403, `${method} ${path}`);
    t.same(res.body, { error: 'You are not a member of this server' });
  }
});

t.test('members without MANAGE_CHANNELS get 403 naming it', async (t) => {
  const guild = await createGuild(env, 'plain');
  const member = await addMember(env, guild);
  const { id } = guild.general;
  const s = guild.server.id;
  const routes: [string, string, unknown?][] = [
    ['POST', `/api/channels/${s}`, { name: 'x' }], ['PATCH', `/api/channels/${id}`, { name: 'x' }], ['DELETE', `/api/channels/${id}`],
    ['PATCH', `/api/channels/${s}/reorder`, [{ id, position: 5 }]], ['GET', `/api/channels/${id}/permissions`],
    ['GET', `/api/channels/${id}/permissions/${s}`], ['PUT', `/api/channels/${id}/permissions/${s}`, { target_type: 'role', deny: '1024' }],
    ['DELETE', `/api/channels/${id}/permissions/${s}`],
  ];
  for (const [method, path, body] of routes) {
    const res = await call(method, path, member, body);
    t.equal(res.status, 403, `${method} ${path}`);
    t.same(res.body, { error: 'Missing permission: MANAGE_CHANNELS' });
  }
  const after = await list(guild);
  t.equal(byName(after, 'general')?.position, 0, 'nothing changed');
  t.equal(after.length, 5);
});

t.test('list', async (t) => {
  const guild = await createGuild(env, 'list');
  const member = await addMember(env, guild);

  t.test('a new server has the default categories and channels, in display order', async (t) => {
    const items = await list(guild);
    t.equal(items.length, 5);
    for (const c of items) t.same(Object.keys(c).sort(), LIST_KEYS, `${c.name} has exactly the list fields`);
    const text = byName(items, 'Text Channels')!;
    const voice = byName(items, 'Voice Channels')!;
    t.match(text, { type: 'category', type_int: 4, position: 0, parent_id: null, category_id: null, server_id: guild.server.id, serverId: guild.server.id });
    t.match(voice, { type: 'category', type_int: 4, position: 1, parent_id: null, category_id: null });
    t.match(byName(items, 'general'), { type: 'text', type_int: 0, position: 0, parent_id: text.id, category_id: text.id, topic: null, is_private: false, parent_message_id: null });
    t.match(byName(items, 'announcements'), { type: 'announcement', type_int: 5, position: 1, parent_id: text.id, category_id: text.id });
    t.match(byName(items, 'General'), { type: 'voice', type_int: 2, position: 0, parent_id: voice.id, category_id: voice.id });
    for (const c of items) {
      t.equal(c.my_permissions, OWNER_PERMS, `owner holds everything in ${c.name}`);
      t.match(c, { unread_count: 0, mention_count: 0 });
    }
    t.same(items.map((c) => c.position), [...items.map((c) => c.position)].sort((a, b) => a - b), 'ordered by position');
  });

  t.test('a member sees @everyone permissions, as a decimal string', async (t) => {
    const items = await list(guild, member);
    t.equal(items.length, 5);
    for (const c of items) t.equal(c.my_permissions, EVERYONE.toString(), c.name);
  });

  t.test('unread and mention counts come from the caller\'s read state', async (t) => {
    // A cursor after the member joined (one from before a rejoin is stale and not shown).
    await sql`INSERT INTO read_states (user_id, channel_id, last_read_id, unread_count, mention_count)
      VALUES (${member.user.id}, ${guild.general.id}, ${env.resources.ids.next()}, 7, 2)`;
    const mine = await list(guild, member);
    t.match(byName(mine, 'general'), { unread_count: 7, mention_count: 2 });
    t.match(byName(mine, 'announcements'), { unread_count: 0, mention_count: 0 });
    t.match(byName(await list(guild), 'general'), { unread_count: 0, mention_count: 0 }, 'another user\'s state is not mine');
  });

  t.test('threads are left out', async (t) => {
    await insertThread(guild, guild.general.id, 'a thread');
    t.notOk(byName(await list(guild), 'a thread'));
  });
});

t.test('create', async (t) => {
  const guild = await createGuild(env, 'create');
  const text = byName(await list(guild), 'Text Channels')!;

  t.test('a text channel by default, trimmed, last among its siblings', async (t) => {
    const res = await call('POST', `/api/channels/${guild.server.id}`, guild.owner, { name: '  chat  ', topic: '  hello  ', categoryId: text.id });
    t.equal(res.status, 201);
    t.same(Object.keys(res.body).sort(), [...CHANNEL_KEYS].sort(), 'a Channel object, no list fields');
    t.match(res.body, { name: 'chat', topic: 'hello', type: 'text', type_int: 0, parent_id: text.id, category_id: text.id, position: 2, server_id: guild.server.id, serverId: guild.server.id });
    t.match(res.body.id, /^\d+$/);
    t.ok(byName(await list(guild), 'chat'), 'listed');
  });

  t.test('every creatable type, as a string or the guide\'s integer', async (t) => {
    const cases: [unknown, string, number][] = [
      ['text', 'text', 0], [0, 'text', 0], ['voice', 'voice', 2], [2, 'voice', 2], ['announcement', 'announcement', 5],
      [5, 'announcement', 5], ['forum', 'forum', 15], [15, 'forum', 15], ['media', 'media', 15], ['category', 'category', 4], [4, 'category', 4],
    ];
    for (const [type, name, int] of cases) {
      const res = await call('POST', `/api/channels/${guild.server.id}`, guild.owner, { name: `t-${String(type)}`, type });
      t.equal(res.status, 201, `type ${JSON.stringify(type)}`);
      t.match(res.body, { type: name, type_int: int });
    }
  });

  t.test('each parent alias works, and positions count siblings', async (t) => {
    const category = await create(guild, { name: 'Fresh', type: 'category' });
    t.equal(category.parent_id, null);
    const first = await create(guild, { name: 'one', parent_id: category.id });
    const second = await create(guild, { name: 'two', parentId: category.id });
    const third = await create(guild, { name: 'three', category_id: category.id });
    t.same([first.position, second.position, third.position], [0, 1, 2]);
    t.same([first.parent_id, second.parent_id, third.parent_id], [category.id, category.id, category.id]);
    const top = await create(guild, { name: 'top', categoryId: null });
    const topLevel = (await list(guild)).filter((c) => c.parent_id === null && c.id !== top.id);
    t.equal(top.position, Math.max(...topLevel.map((c) => c.position)) + 1, 'top level: after the categories and top-level channels');
  });

  t.test('bad input is a 400 and creates nothing', async (t) => {
    const other = await createGuild(env, 'other');
    const otherCategory = byName(await list(other), 'Text Channels')!;
    const before = (await list(guild)).length;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /name/],
      [{ name: '   ' }, /name/],
      [{ name: 'x'.repeat(101) }, /name/],
      [{ name: 'x', topic: 'x'.repeat(1025) }, /topic/],
      [{ name: 'x', type: 'thread' }, /^Threads are created from a message$/],
      [{ name: 'x', type: 'public_thread' }, /^Threads are created from a message$/],
      [{ name: 'x', type: 'private_thread' }, /^Threads are created from a message$/],
      [{ name: 'x', type: 11 }, /^Threads are created from a message$/],
      [{ name: 'x', type: 12 }, /^Threads are created from a message$/],
      [{ name: 'x', type: 'dm' }, /type/],
      [{ name: 'x', type: 'bogus' }, /type/],
      [{ name: 'x', type: 3 }, /type/],
      [{ name: 'x', categoryId: guild.general.id }, /^Parent must be a category of this server$/],
      [{ name: 'x', categoryId: otherCategory.id }, /^Parent must be a category of this server$/],
      [{ name: 'x', categoryId: '12345' }, /^Parent must be a category of this server$/],
      [{ name: 'x', categoryId: 'abc' }, /categoryId/],
      [{ name: 'x', type: 'category', parent_id: text.id }, /^A category cannot have a parent$/],
    ];
    for (const [body, message] of cases) {
      const res = await call('POST', `/api/channels/${guild.server.id}`, guild.owner, body);
      t.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      t.match(res.body.error, message);
    }
    t.equal((await list(guild)).length, before);
  });

  t.test('a role with MANAGE_CHANNELS may create', async (t) => {
    const member = await addMember(env, guild);
    t.equal((await call('POST', `/api/channels/${guild.server.id}`, member, { name: 'nope' })).status, 403);
    await grantRole(env, guild, member, Flags.MANAGE_CHANNELS, 'channel managers');
    t.equal((await call('POST', `/api/channels/${guild.server.id}`, member, { name: 'yes' })).status, 201);
  });
});

t.test('update', async (t) => {
  const guild = await createGuild(env, 'update');
  const items = await list(guild);
  const text = byName(items, 'Text Channels')!;
  const voice = byName(items, 'Voice Channels')!;
  const path = `/api/channels/${guild.general.id}`;

  t.test('name, topic and position', async (t) => {
    const res = await call('PATCH', path, guild.owner, { name: ' lobby ', topic: 'Say hi', position: 7 });
    t.equal(res.status, 200);
    t.same(Object.keys(res.body).sort(), [...CHANNEL_KEYS].sort());
    t.match(res.body, { id: guild.general.id, name: 'lobby', topic: 'Say hi', position: 7, parent_id: text.id });
    const cleared = await call('PATCH', path, guild.owner, { topic: null });
    t.match(cleared.body, { name: 'lobby', topic: null, position: 7 }, 'null clears the topic, the rest stays');
    t.match(byName(await list(guild), 'lobby'), { topic: null, position: 7 });
  });

  t.test('moving to another category puts it last there; null uncategorises', async (t) => {
    const moved = await call('PATCH', path, guild.owner, { categoryId: voice.id });
    t.match(moved.body, { parent_id: voice.id, category_id: voice.id, position: 1 });
    const placed = await call('PATCH', path, guild.owner, { parent_id: text.id, position: 0 });
    t.match(placed.body, { parent_id: text.id, position: 0 }, 'an explicit position wins');
    const loose = await call('PATCH', path, guild.owner, { parent_id: null });
    t.match(loose.body, { parent_id: null, category_id: null });
  });

  t.test('bad input is a 400', async (t) => {
    const other = await createGuild(env, 'update-other');
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [path, {}, /^Nothing to update/],
      [path, { unknown: 1 }, /^Nothing to update/],
      [path, { name: '  ' }, /name/],
      [path, { name: 'x'.repeat(101) }, /name/],
      [path, { topic: 'x'.repeat(1025) }, /topic/],
      [path, { position: -1 }, /position/],
      [path, { position: 'first' }, /position/],
      [path, { position: 100_001 }, /position/], // far from int4's edge: "last + 1" never overflows
      [path, { parent_id: guild.general.id }, /^Parent must be a category of this server$/],
      [path, { parent_id: byName(await list(other), 'Text Channels')!.id }, /^Parent must be a category of this server$/],
      [`/api/channels/${text.id}`, { parent_id: voice.id }, /^A category cannot have a parent$/],
    ];
    for (const [target, body, message] of cases) {
      const res = await call('PATCH', target, guild.owner, body);
      t.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      t.match(res.body.error, message);
    }
    const thread = await insertThread(guild, guild.general.id);
    const res = await call('PATCH', `/api/channels/${thread}`, guild.owner, { parent_id: text.id });
    t.equal(res.status, 400);
    t.equal(res.body.error, "A thread's parent cannot be changed");
  });

  t.test('MANAGE_CHANNELS is checked in the channel: a member override grants it for that channel only', async (t) => {
    const member = await addMember(env, guild);
    const announcements = byName(await list(guild), 'announcements')!;
    t.equal((await call('PATCH', `/api/channels/${announcements.id}`, member, { name: 'news' })).status, 403);
    const granted = await putOverride(announcements.id, member.user.id, { target_type: 'member', allow: Flags.MANAGE_CHANNELS.toString() }, guild.owner);
    t.equal(granted.status, 200);
    t.equal((await call('PATCH', `/api/channels/${announcements.id}`, member, { name: 'news' })).status, 200);
    t.equal((await call('PATCH', path, member, { name: 'mine' })).status, 403, 'not in another channel');
  });
});

t.test('delete', async (t) => {
  const guild = await createGuild(env, 'delete');
  const items = await list(guild);
  const text = byName(items, 'Text Channels')!;

  t.test('a channel goes with its threads', async (t) => {
    const doomed = await create(guild, { name: 'doomed', categoryId: text.id });
    const thread = await insertThread(guild, doomed.id);
    const res = await call('DELETE', `/api/channels/${doomed.id}`, guild.owner);
    t.equal(res.status, 204);
    t.equal(res.body, '');
    const left = await sql`SELECT id FROM channels WHERE id IN (${doomed.id}, ${thread})`;
    t.equal(left.length, 0, 'channel and thread are gone');
    t.equal((await call('DELETE', `/api/channels/${doomed.id}`, guild.owner)).status, 404, 'a second delete is a 404');
    t.equal((await call('PATCH', `/api/channels/${doomed.id}`, guild.owner, { name: 'x' })).status, 404);
  });

  t.test('a category leaves its children uncategorised', async (t) => {
    const res = await call('DELETE', `/api/channels/${text.id}`, guild.owner);
    t.equal(res.status, 204);
    const after = await list(guild);
    t.notOk(byName(after, 'Text Channels'));
    t.match(byName(after, 'general'), { parent_id: null, category_id: null });
    t.match(byName(after, 'announcements'), { parent_id: null, category_id: null });
  });
});

t.test('reorder', async (t) => {
  const guild = await createGuild(env, 'reorder');
  const other = await createGuild(env, 'reorder-other');
  const items = await list(guild);
  const [text, voice, general, announcements] = ['Text Channels', 'Voice Channels', 'general', 'announcements'].map((n) => byName(items, n)!);
  const path = `/api/channels/${guild.server.id}/reorder`;

  t.test('a bare array; ids of other servers are ignored; the reply is the new list', async (t) => {
    const foreign = byName(await list(other), 'general')!;
    const res = await call('PATCH', path, guild.owner, [
      { id: announcements!.id, position: 0 }, { id: general!.id, position: 1 }, { id: foreign.id, position: 9, parent_id: null },
    ]);
    t.equal(res.status, 200);
    t.equal(res.body.length, 5);
    for (const c of res.body) t.same(Object.keys(c).sort(), LIST_KEYS);
    t.match(byName(res.body, 'announcements'), { position: 0, parent_id: text!.id });
    t.match(byName(res.body, 'general'), { position: 1, parent_id: text!.id });
    t.match(byName(await list(other), 'general'), { position: 0, parent_id: foreign.parent_id }, 'the other server is untouched');
  });

  t.test('the {channels, categories} form moves channels between categories', async (t) => {
    const res = await call('PATCH', path, guild.owner, {
      channels: [{ id: general!.id, position: 3, categoryId: voice!.id }],
      categories: [{ id: voice!.id, position: 0 }, { id: text!.id, position: 1 }],
    });
    t.equal(res.status, 200);
    t.match(byName(res.body, 'general'), { position: 3, parent_id: voice!.id, category_id: voice!.id });
    t.match(byName(res.body, 'Voice Channels'), { position: 0 });
    t.match(byName(res.body, 'Text Channels'), { position: 1 });
    const loose = await call('PATCH', path, guild.owner, [{ id: general!.id, position: 0, parent_id: null }]);
    t.match(byName(loose.body, 'general'), { parent_id: null });
  });

  t.test('bad parents and bad bodies are 400 and change nothing', async (t) => {
    const before = await list(guild);
    const cases: [unknown, RegExp][] = [
      [[{ id: announcements!.id, position: 4 }, { id: general!.id, position: 0, parent_id: announcements!.id }], /^Parent must be a category of this server$/],
      [[{ id: general!.id, position: 0, parent_id: byName(await list(other), 'Text Channels')!.id }], /^Parent must be a category of this server$/],
      [[{ id: text!.id, position: 0, parent_id: voice!.id }], /^A category cannot have a parent$/],
      [{ channels: [{ id: 'abc', position: 1 }] }, /id/],
      [[{ id: general!.id }], /position/],
      [[{ id: general!.id, position: -2 }], /position/],
      [[5], /./],
      [{ channels: 'all' }, /./],
    ];
    for (const [body, message] of cases) {
      const res = await call('PATCH', path, guild.owner, body);
      t.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      t.match(res.body.error, message);
    }
    t.same(await list(guild), before, 'nothing moved');
  });
});

t.test('overrides and visibility', async (t) => {
  const guild = await createGuild(env, 'perms');
  const member = await addMember(env, guild);
  const secret = await create(guild, { name: 'secret' });
  const everyone = guild.server.id;
  const base = `/api/channels/${secret.id}/permissions`;

  t.test('@everyone denied VIEW_CHANNEL hides the channel from members, not the owner', async (t) => {
    const res = await putOverride(secret.id, everyone, { target_type: 'role', deny: Flags.VIEW_CHANNEL.toString() }, guild.owner);
    t.equal(res.status, 200);
    t.same(res.body, { channel_id: secret.id, target_id: everyone, target_type: 'role', allow: '0', deny: '1024' });
    t.notOk(byName(await list(guild, member), 'secret'), 'hidden from the member');
    t.equal(byName(await list(guild), 'secret')?.my_permissions, OWNER_PERMS, 'the owner ignores overrides');
    t.equal((await call('PATCH', `/api/channels/${secret.id}`, member, { name: 'x' })).status, 403, 'guards see it too');
  });

  t.test('a role allow restores it; a member override beats roles', async (t) => {
    const role = await grantRole(env, guild, member, 0n, 'insiders');
    t.equal((await putOverride(secret.id, role.id, { target_type: 'role', allow: 1024 }, guild.owner)).status, 200, 'integer masks work');
    t.equal(byName(await list(guild, member), 'secret')?.my_permissions, EVERYONE.toString());
    const own = await putOverride(secret.id, member.user.id, { target_type: 'member', deny: (Flags.VIEW_CHANNEL | Flags.SEND_MESSAGES).toString() }, guild.owner);
    t.equal(own.status, 200);
    t.notOk(byName(await list(guild, member), 'secret'), 'the member deny wins over the role allow');
    await putOverride(secret.id, member.user.id, { target_type: 'member', allow: '1024', deny: '2048' }, guild.owner);
    t.equal(byName(await list(guild, member), 'secret')?.my_permissions, (EVERYONE & ~Flags.SEND_MESSAGES).toString());
  });

  t.test('list, get one, delete', async (t) => {
    const all = await call('GET', base, guild.owner);
    t.equal(all.status, 200);
    t.equal(all.body.length, 3);
    t.same(all.body.map((o: { target_type: string }) => o.target_type).sort(), ['member', 'role', 'role']);
    const one = await call('GET', `${base}/${member.user.id}`, guild.owner);
    t.same(one.body, { channel_id: secret.id, target_id: member.user.id, target_type: 'member', allow: '1024', deny: '2048' });
    t.equal((await call('GET', `${base}/12345`, guild.owner)).status, 404);
    const removed = await call('DELETE', `${base}/${member.user.id}`, guild.owner);
    t.equal(removed.status, 204);
    t.equal(removed.body, '');
    t.equal((await call('GET', `${base}/${member.user.id}`, guild.owner)).status, 404);
    t.equal((await call('DELETE', `${base}/${member.user.id}`, guild.owner)).status, 404, 'deleting again is a 404');
    t.equal((await call('GET', `/api/channels/${guild.general.id}/permissions`, guild.owner)).body.length, 0, 'other channels have none');
  });

  t.test('categories hold overrides too; threads follow their parent', async (t) => {
    const category = byName(await list(guild), 'Voice Channels')!;
    t.equal((await putOverride(category.id, everyone, { target_type: 'role', deny: '1024' }, guild.owner)).status, 200);
    t.notOk(byName(await list(guild, member), 'Voice Channels'));
    const inside = await create(guild, { name: 'Backstage', type: 'voice', parent_id: category.id });
    t.notOk(byName(await list(guild, member), 'Backstage'), "a channel created in it starts with the category's overrides");
    t.same((await call('GET', `/api/channels/${inside.id}/permissions`, guild.owner)).body,
      [{ channel_id: inside.id, target_id: everyone, target_type: 'role', allow: '0', deny: '1024' }]);
    t.equal((await call('DELETE', `/api/channels/${category.id}/permissions/${everyone}`, guild.owner)).status, 204);
    const thread = await insertThread(guild, guild.general.id);
    const res = await putOverride(thread, everyone, { target_type: 'role', deny: '1024' }, guild.owner);
    t.equal(res.status, 400);
  });

  t.test('bad bodies and unknown targets', async (t) => {
    const other = await createGuild(env, 'perms-other');
    const stranger = await env.register('stranger');
    const otherRole = (await call('POST', `/api/servers/${other.server.id}/roles`, other.owner, { name: 'x' })).body;
    const target = (id: string) => `${base}/${id}`;
    const cases: [string, Record<string, unknown>, number, RegExp][] = [
      [everyone, {}, 400, /target_type/],
      [everyone, { target_type: 'everyone' }, 400, /target_type/],
      [everyone, { target_type: 'role', allow: 'lots' }, 400, /allow/],
      [everyone, { target_type: 'role', allow: -1 }, 400, /allow/],
      [everyone, { target_type: 'role', allow: '8' }, 400, /^Overrides cannot carry ADMINISTRATOR$/],
      [everyone, { target_type: 'role', deny: '8' }, 400, /^Overrides cannot carry ADMINISTRATOR$/],
      [everyone, { target_type: 'role', allow: (1n << 12n).toString() }, 400, /^allow contains unknown permission bits$/],
      [everyone, { target_type: 'role', deny: (1n << 41n).toString() }, 400, /^deny contains unknown permission bits$/],
      [otherRole.id, { target_type: 'role', deny: '1024' }, 404, /^Role not found$/],
      [member.user.id, { target_type: 'role', deny: '1024' }, 404, /^Role not found$/],
      [stranger.user.id, { target_type: 'member', deny: '1024' }, 404, /^Member not found$/],
      [everyone, { target_type: 'member', deny: '1024' }, 404, /^Member not found$/],
    ];
    for (const [id, body, status, message] of cases) {
      const res = await call('PUT', target(id), guild.owner, body);
      t.equal(res.status, status, JSON.stringify(body));
      t.match(res.body.error, message);
    }
    t.equal((await call('GET', target(everyone), guild.owner)).body.deny, '1024', 'the @everyone override is unchanged');
  });

  t.test('hierarchy and escalation: a moderator changes only what it holds, below itself', async (t) => {
    const mod = await addMember(env, guild);
    const peer = await addMember(env, guild);
    const plain = await addMember(env, guild);
    // New roles go on top, so creation order is hierarchy order: juniors < mods < seniors.
    const juniors = (await call('POST', `/api/servers/${guild.server.id}/roles`, guild.owner, { name: 'juniors' })).body;
    const mods = await grantRole(env, guild, mod, Flags.MANAGE_CHANNELS | Flags.SEND_MESSAGES, 'mods');
    const seniors = await grantRole(env, guild, peer, 0n, 'seniors');
    t.ok(juniors.position < mods.position && mods.position < seniors.position);
    const channel = guild.general.id;
    const put = (id: string, body: Record<string, unknown>) => putOverride(channel, id, body, mod);
    const deny = (flag: bigint) => ({ deny: flag.toString() });

    const escalate = await put(everyone, { target_type: 'role', allow: Flags.MANAGE_ROLES.toString() });
    t.equal(escalate.status, 403, 'cannot allow a bit it does not hold');
    t.equal(escalate.body.error, 'You cannot allow or deny permissions you do not hold');
    t.equal((await put(everyone, { target_type: 'role', ...deny(Flags.MANAGE_ROLES) })).status, 403, 'nor deny one');
    t.equal((await put(everyone, { target_type: 'role', ...deny(Flags.EMBED_LINKS) })).status, 200, 'a held bit on @everyone is fine');
    t.equal((await put(juniors.id, { target_type: 'role', allow: Flags.SEND_MESSAGES.toString() })).status, 200, 'a role below');
    const above = await put(seniors.id, { target_type: 'role', ...deny(Flags.SEND_MESSAGES) });
    t.equal(above.status, 403, 'a role above');
    t.equal(above.body.error, 'You can only manage roles below your highest role');
    t.equal((await put(mods.id, { target_type: 'role', ...deny(Flags.SEND_MESSAGES) })).status, 403, 'its own top role');
    const peerRes = await put(peer.user.id, { target_type: 'member', ...deny(Flags.SEND_MESSAGES) });
    t.equal(peerRes.status, 403, 'a member above');
    t.equal(peerRes.body.error, 'You can only manage members below your highest role');
    t.equal((await put(guild.owner.user.id, { target_type: 'member', ...deny(Flags.SEND_MESSAGES) })).status, 403, 'the owner');
    t.equal((await put(plain.user.id, { target_type: 'member', ...deny(Flags.SEND_MESSAGES) })).status, 200, 'a member below');
    t.equal((await put(mod.user.id, { target_type: 'member', allow: Flags.SEND_MESSAGES.toString() })).status, 200, 'itself');

    // The owner sets a bit the mod lacks: the mod may change the other bits, never that one.
    await putOverride(channel, plain.user.id, { target_type: 'member', ...deny(Flags.SEND_MESSAGES | Flags.MANAGE_MESSAGES) }, guild.owner);
    t.equal((await put(plain.user.id, { target_type: 'member', ...deny(Flags.SEND_MESSAGES) })).status, 403, 'cannot drop a bit it lacks');
    t.equal((await put(plain.user.id, { target_type: 'member', ...deny(Flags.MANAGE_MESSAGES | Flags.ADD_REACTIONS) })).status, 200, 'may change the bits it holds');
    t.equal((await call('DELETE', `/api/channels/${channel}/permissions/${plain.user.id}`, mod)).status, 403, 'nor delete it');
    t.equal((await call('DELETE', `/api/channels/${channel}/permissions/${juniors.id}`, mod)).status, 204, 'deletes what it could set');
    // "Holds" is channel-level: once @everyone is denied EMBED_LINKS here, the mod no longer holds it
    // here either, so lifting that deny takes someone who still does.
    t.equal((await call('DELETE', `/api/channels/${channel}/permissions/${everyone}`, mod)).status, 403);
    t.equal((await call('DELETE', `/api/channels/${channel}/permissions/${everyone}`, guild.owner)).status, 204);

    // An administrator stands above the hierarchy (but still cannot put ADMINISTRATOR in an override).
    const admin = await addMember(env, guild);
    await grantRole(env, guild, admin, Flags.ADMINISTRATOR, 'admins');
    t.equal((await putOverride(channel, seniors.id, { target_type: 'role', allow: Flags.MANAGE_ROLES.toString() }, admin)).status, 200);
    t.equal((await putOverride(channel, guild.owner.user.id, { target_type: 'member', allow: '1024' }, admin)).status, 200);
    t.equal((await putOverride(channel, seniors.id, { target_type: 'role', allow: '8' }, admin)).status, 400);
  });

  t.test('an override for a member who left can still be removed', async (t) => {
    const leaver = await addMember(env, guild);
    t.equal((await putOverride(secret.id, leaver.user.id, { target_type: 'member', allow: '1024' }, guild.owner)).status, 200);
    t.equal((await call('POST', `/api/servers/${guild.server.id}/leave`, leaver)).status, 200);
    t.equal((await call('DELETE', `${base}/${leaver.user.id}`, guild.owner)).status, 204);
  });
});

t.test('events reach sockets in the server room', async (t) => {
  const guild = await createGuild(env, 'events');
  const member = await addMember(env, guild);
  const stranger = await env.register('stranger');
  const owner = await env.connect(guild.owner.cookie);
  const watcher = await env.connect(member.cookie);
  const outsider = await env.connect(stranger.cookie);
  t.same(await roomAck(owner, 'join_server', guild.server.id), { ok: true });
  t.same(await roomAck(watcher, 'join_server', guild.server.id), { ok: true });
  t.match(await roomAck(outsider, 'join_server', guild.server.id), { ok: false });
  const leaked = [record(outsider, 'channel_created'), record(outsider, 'channel_deleted'), record(outsider, 'permissions_updated')];
  const s = guild.server.id;
  const category = byName(await list(guild), 'Text Channels')!;

  const created = nextEvent(watcher, 'channel_created');
  const channel = await create(guild, { name: 'news', categoryId: category.id });
  t.same(await created, { ...channel }, 'channel_created carries the Channel object');
  t.equal((await created).serverId, s);

  const updated = nextEvent(watcher, 'channel_updated');
  await call('PATCH', `/api/channels/${channel.id}`, guild.owner, { topic: 'Read me' });
  t.match(await updated, { id: channel.id, topic: 'Read me', serverId: s });

  const reordered = nextEvent(watcher, 'channels_reordered');
  const movedEvent = nextEvent(watcher, 'channel_updated', { filter: (c) => c.id === channel.id });
  await call('PATCH', `/api/channels/${s}/reorder`, guild.owner, [{ id: channel.id, position: 0 }]);
  t.same(await reordered, { serverId: s });
  t.match(await movedEvent, { id: channel.id, position: 0 });

  // An override: permissions_updated, and every gateway is asked to re-check its channel rooms.
  const recheck = new Promise<string>((resolve) => env.gateway.io.on(RECHECK_ACCESS, resolve));
  const perms = nextEvent(watcher, 'permissions_updated');
  await putOverride(channel.id, s, { target_type: 'role', deny: '2048' }, guild.owner);
  t.same(await perms, { serverId: s, channelId: channel.id });
  t.equal(await recheck, s, 'recheck_access reached the gateway');
  const permsGone = nextEvent(watcher, 'permissions_updated');
  await call('DELETE', `/api/channels/${channel.id}/permissions/${s}`, guild.owner);
  t.same(await permsGone, { serverId: s, channelId: channel.id });

  // Deleting a channel: one channel_deleted per channel (threads too), and its rooms are emptied.
  t.same(await roomAck(watcher, 'join_channel', channel.id), { ok: true });
  t.ok(serverSocket(watcher)?.rooms.has(rooms.channel(channel.id)), 'the member is in the channel room');
  const thread = await insertThread(guild, channel.id);
  const deletedIds: string[] = [];
  const bothDeleted = new Promise<void>((resolve) => {
    watcher.on('channel_deleted', (p) => {
      t.equal(p.serverId, s);
      deletedIds.push(p.channelId);
      if (deletedIds.length === 2) resolve();
    });
  });
  await call('DELETE', `/api/channels/${channel.id}`, guild.owner);
  await bothDeleted;
  t.same(deletedIds.sort(), [channel.id, thread].sort());
  // A later event on the same path proves the room clearing (published before it) has been applied.
  const later = nextEvent(watcher, 'channel_updated');
  await call('PATCH', `/api/channels/${guild.general.id}`, guild.owner, { topic: 'after' });
  await later;
  t.notOk(serverSocket(watcher)?.rooms.has(rooms.channel(channel.id)), 'the deleted channel\'s room was emptied');

  const categoryGone = nextEvent(watcher, 'channels_reordered');
  const categoryDeleted = nextEvent(watcher, 'channel_deleted');
  await call('DELETE', `/api/channels/${category.id}`, guild.owner);
  t.same(await categoryDeleted, { channelId: category.id, serverId: s });
  t.same(await categoryGone, { serverId: s });

  // The outsider's recorders saw nothing, although every event above was published after they were set.
  t.same(leaked, [[], [], []], 'a non-member receives nothing');
});

t.test("a private channel's name reaches only those who may view it", async (t) => {
  const guild = await createGuild(env, 'private-names');
  const member = await addMember(env, guild);
  const [ownerSocket, memberSocket] = [await env.connect(guild.owner.cookie), await env.connect(member.cookie)];
  for (const s of [ownerSocket, memberSocket]) t.same(await roomAck(s, 'join_server', guild.server.id), { ok: true });
  const heard = [record(memberSocket, 'channel_created'), record(memberSocket, 'channel_updated')];

  const staff = await create(guild, { name: 'Staff', type: 'category' });
  t.equal((await putOverride(staff.id, guild.server.id, { target_type: 'role', deny: '1024' }, guild.owner)).status, 200);
  const ownerHears = nextEvent(ownerSocket, 'channel_created', { filter: (c) => c.name === 'plans' });
  const plans = await create(guild, { name: 'plans', parent_id: staff.id });
  await ownerHears;
  const renamed = nextEvent(ownerSocket, 'channel_updated', { filter: (c) => c.id === plans.id });
  t.equal((await call('PATCH', `/api/channels/${plans.id}`, guild.owner, { name: 'secret plans', topic: 'takeover' })).status, 200);
  t.match(await renamed, { name: 'secret plans', topic: 'takeover' }, 'the owner, who may view it, hears of it');

  // A public channel's events still reach the member, after the private ones on the same path.
  const publicRename = nextEvent(memberSocket, 'channel_updated', { filter: (c) => c.id === guild.general.id });
  await call('PATCH', `/api/channels/${guild.general.id}`, guild.owner, { topic: 'hello' });
  await publicRename;
  await env.flush(memberSocket, member.user.id);
  const names = heard.flat().map((c) => c.name);
  t.notOk(names.includes('plans') || names.includes('secret plans'), `the member never heard its name (heard: ${names.join(', ')})`);
});

t.test('a server has at most MAX_CHANNELS channels', async (t) => {
  const guild = await createGuild(env, 'full');
  const existing = (await list(guild)).length;
  const filler = Array.from({ length: MAX_CHANNELS - existing }, (_, i) => ({ id: env.resources.ids.next(), server_id: guild.server.id, type: 'text', name: `c${i}` }));
  await sql`INSERT INTO channels ${sql(filler)}`;
  const res = await call('POST', `/api/channels/${guild.server.id}`, guild.owner, { name: 'one too many' });
  t.equal(res.status, 400);
  t.equal(res.body.error, `A server can have at most ${MAX_CHANNELS} channels`);
});
