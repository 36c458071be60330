// The permission engine: the flag table of notes §1.1–1.2 (written out literally here), server-level
// and channel-level resolution in Discord's order (§1.3), has(), the role hierarchy of the binding
// decisions (manage / grant / moderate only below one's own top role, owner and ADMINISTRATOR
// excepted), then fast-check properties over random members, roles and channel overrides.
import t, { type Test } from 'tap';
import fc from 'fast-check';
import {
  ALL_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  Flags,
  basePermissions,
  canGrant,
  canManageRole,
  canModerate,
  channelPermissions,
  flagTable,
  has,
  topPosition,
  type MemberContext,
  type Override,
  type RoleGrant,
} from './permissions.ts';

const F = Flags;
const SERVER = '1000'; // also the @everyone role's id
const OWNER = '1';
const ME = '2';
const OTHER = '3';

// ---------------------------------------------------------------------------------------------
// Helpers

function member({ everyone = 0n, roles = [] as RoleGrant[], userId = ME } = {}): MemberContext {
  return { userId, ownerId: OWNER, everyone, roles };
}
const asOwner = (m: MemberContext): MemberContext => ({ ...m, userId: m.ownerId });
const role = (id: string, permissions: bigint, position = 1): RoleGrant => ({ id, permissions, position });

type AllowDeny = { allow?: bigint; deny?: bigint };
const roleOv = (targetId: string, { allow = 0n, deny = 0n }: AllowDeny): Override => ({ targetId, targetType: 'role', allow, deny });
const everyoneOv = (ad: AllowDeny) => roleOv(SERVER, ad);
const memberOv = (targetId: string, { allow = 0n, deny = 0n }: AllowDeny): Override => ({ targetId, targetType: 'member', allow, deny });

/** Every bit of `a` is in `b`. */
const within = (a: bigint, b: bigint) => (a & ~b) === 0n;

/** Runs a fast-check property; a failure throws fast-check's report (seed and counterexample). */
function holds<Ts>(t: Test, what: string, property: fc.IProperty<Ts>) {
  fc.assert(property, { numRuns: 1000 });
  t.pass(what);
}

// ---------------------------------------------------------------------------------------------
// 1. The table

/** Notes §1.1, copied by hand: name, decimal value, bit. */
const TABLE: [name: keyof typeof Flags, value: number, bit: number][] = [
  ['CREATE_INSTANT_INVITE', 1, 0],
  ['KICK_MEMBERS', 2, 1],
  ['BAN_MEMBERS', 4, 2],
  ['ADMINISTRATOR', 8, 3],
  ['MANAGE_CHANNELS', 16, 4],
  ['MANAGE_GUILD', 32, 5],
  ['ADD_REACTIONS', 64, 6],
  ['VIEW_AUDIT_LOG', 128, 7],
  ['PRIORITY_SPEAKER', 256, 8],
  ['STREAM', 512, 9],
  ['VIEW_CHANNEL', 1024, 10],
  ['SEND_MESSAGES', 2048, 11],
  ['MANAGE_MESSAGES', 8192, 13],
  ['EMBED_LINKS', 16384, 14],
  ['ATTACH_FILES', 32768, 15],
  ['READ_MESSAGE_HISTORY', 65536, 16],
  ['MENTION_EVERYONE', 131072, 17],
  ['USE_EXTERNAL_EMOJIS', 262144, 18],
  ['CONNECT', 1048576, 20],
  ['SPEAK', 2097152, 21],
  ['MUTE_MEMBERS', 4194304, 22],
  ['DEAFEN_MEMBERS', 8388608, 23],
  ['MOVE_MEMBERS', 16777216, 24],
  ['USE_VAD', 33554432, 25],
  ['CHANGE_NICKNAME', 67108864, 26],
  ['MANAGE_NICKNAMES', 134217728, 27],
  ['MANAGE_ROLES', 268435456, 28],
  ['MANAGE_WEBHOOKS', 536870912, 29],
  ['MANAGE_GUILD_EXPRESSIONS', 1073741824, 30],
  ['USE_APPLICATION_COMMANDS', 2147483648, 31],
  ['REQUEST_TO_SPEAK', 4294967296, 32],
  ['MANAGE_EVENTS', 8589934592, 33],
  ['MANAGE_THREADS', 17179869184, 34],
  ['CREATE_PUBLIC_THREADS', 34359738368, 35],
  ['CREATE_PRIVATE_THREADS', 68719476736, 36],
  ['SEND_MESSAGES_IN_THREADS', 274877906944, 38],
  ['MODERATE_MEMBERS', 1099511627776, 40],
];

t.test('flag table: the 37 flags of notes §1.1, with their exact values', async (t) => {
  t.equal(TABLE.length, 37, 'the expected table itself has 37 rows');
  t.same(Object.keys(Flags).sort(), TABLE.map(([name]) => name).sort(), 'exactly these names');
  for (const [name, value, bit] of TABLE) {
    t.equal(Flags[name], BigInt(value), `${name} = ${value}`);
    t.equal(2 ** bit, value, `${name} is bit ${bit}`);
  }
  for (const unused of [12n, 19n, 37n, 39n]) t.equal(ALL_PERMISSIONS & (1n << unused), 0n, `bit ${unused} is unused`);
});

t.test('ALL_PERMISSIONS and DEFAULT_EVERYONE_PERMISSIONS', async (t) => {
  t.equal(ALL_PERMISSIONS, 1511827959807n);
  t.equal(ALL_PERMISSIONS, 0x15ffff7efffn);
  t.equal(DEFAULT_EVERYONE_PERMISSIONS, 103926848n);
  // §1.2: VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, ATTACH_FILES, READ_MESSAGE_HISTORY, ADD_REACTIONS,
  // CONNECT, SPEAK, USE_VAD, CHANGE_NICKNAME.
  t.equal(DEFAULT_EVERYONE_PERMISSIONS, 1024n + 2048n + 16384n + 32768n + 65536n + 64n + 1048576n + 2097152n + 33554432n + 67108864n);
  for (const absent of [F.CREATE_INSTANT_INVITE, F.MENTION_EVERYONE, F.MANAGE_MESSAGES, F.ADMINISTRATOR]) {
    t.equal(DEFAULT_EVERYONE_PERMISSIONS & absent, 0n, `default @everyone lacks ${absent}`);
  }
});

t.test('flagTable() gives the table as JSON numbers', async (t) => {
  const table = flagTable();
  t.same(table, Object.fromEntries(TABLE.map(([name, value]) => [name, value])));
  t.ok(Object.values(table).every((v) => typeof v === 'number' && Number.isSafeInteger(v)), 'safe integers');
  t.same(JSON.parse(JSON.stringify(table)), table, 'survives JSON');
});

// ---------------------------------------------------------------------------------------------
// 2. Server level

t.test('basePermissions', async (t) => {
  t.equal(basePermissions(asOwner(member())), ALL_PERMISSIONS, 'the owner holds everything, with no roles');
  t.equal(basePermissions(asOwner(member({ everyone: F.VIEW_CHANNEL }))), ALL_PERMISSIONS, 'whatever @everyone holds');
  t.equal(basePermissions(member({ everyone: DEFAULT_EVERYONE_PERMISSIONS })), DEFAULT_EVERYONE_PERMISSIONS, '@everyone only');
  t.equal(basePermissions(member()), 0n, 'nothing at all');
  t.equal(
    basePermissions(member({ everyone: F.VIEW_CHANNEL, roles: [role('10', F.SEND_MESSAGES), role('11', F.KICK_MEMBERS | F.BAN_MEMBERS)] })),
    F.VIEW_CHANNEL | F.SEND_MESSAGES | F.KICK_MEMBERS | F.BAN_MEMBERS,
    'the union of @everyone and every role',
  );
  t.equal(basePermissions(member({ everyone: F.VIEW_CHANNEL, roles: [role('10', F.ADMINISTRATOR)] })), ALL_PERMISSIONS, 'ADMINISTRATOR via a role');
  t.equal(basePermissions(member({ everyone: F.ADMINISTRATOR })), ALL_PERMISSIONS, 'ADMINISTRATOR via @everyone');
  const junk = (1n << 12n) | (1n << 19n) | (1n << 37n) | (1n << 39n) | (1n << 41n) | (1n << 62n);
  t.equal(basePermissions(member({ everyone: 1n << 50n, roles: [role('10', junk | F.SEND_MESSAGES)] })), F.SEND_MESSAGES, 'unknown bits are masked off');
});

// ---------------------------------------------------------------------------------------------
// 3. Channel level

t.test('channelPermissions: Discord order', async (t) => {
  const base = F.VIEW_CHANNEL | F.SEND_MESSAGES;
  const plain = member({ everyone: base, roles: [role('10', 0n), role('11', 0n)] });
  const at = (ovs: Override[], m = plain) => channelPermissions(m, SERVER, ovs);

  t.test('the @everyone override: deny, then allow', async (t) => {
    t.equal(at([everyoneOv({ deny: F.VIEW_CHANNEL })]), F.SEND_MESSAGES, 'deny clears');
    t.equal(at([everyoneOv({ allow: F.ATTACH_FILES })]), base | F.ATTACH_FILES, 'allow adds');
    t.equal(at([everyoneOv({ deny: base, allow: F.SEND_MESSAGES })]), F.SEND_MESSAGES, 'a bit both denied and allowed ends allowed');
  });

  t.test('role overrides are combined: all denies, then all allows', async (t) => {
    const ovs = [roleOv('10', { allow: F.SEND_MESSAGES }), roleOv('11', { deny: F.SEND_MESSAGES | F.VIEW_CHANNEL })];
    t.equal(at(ovs), F.SEND_MESSAGES, "one role's allow beats another role's deny");
    t.equal(at([...ovs].reverse()), F.SEND_MESSAGES, 'whatever their order');
    t.equal(at([everyoneOv({ allow: F.ATTACH_FILES }), roleOv('10', { deny: F.ATTACH_FILES })]), base, 'a role deny beats an @everyone allow');
    t.equal(at([everyoneOv({ deny: base }), roleOv('11', { allow: F.VIEW_CHANNEL })]), F.VIEW_CHANNEL, 'a role allow beats an @everyone deny');
  });

  t.test("the member's own override beats role overrides", async (t) => {
    t.equal(at([roleOv('10', { allow: F.ATTACH_FILES }), memberOv(ME, { deny: F.ATTACH_FILES | F.SEND_MESSAGES })]), F.VIEW_CHANNEL);
    t.equal(at([roleOv('10', { deny: base }), everyoneOv({ deny: base }), memberOv(ME, { allow: F.VIEW_CHANNEL })]), F.VIEW_CHANNEL);
  });

  t.test('overrides that are not about this member are ignored', async (t) => {
    t.equal(at([roleOv('99', { deny: base })]), base, 'a role the member does not hold');
    t.equal(at([memberOv(OTHER, { deny: base })]), base, "another user's member override");
    t.equal(at([roleOv(ME, { deny: base })]), base, "a role override whose id is the member's user id");
    t.equal(at([memberOv('10', { deny: base })]), base, "a member override whose id is one of the member's role ids");
  });

  t.test('the serverId argument identifies the @everyone override', async (t) => {
    const ovs = [roleOv(SERVER, { deny: F.VIEW_CHANNEL })];
    t.equal(channelPermissions(plain, SERVER, ovs), F.SEND_MESSAGES, 'applied as @everyone');
    t.equal(channelPermissions(plain, '2000', ovs), base, 'in another server it is an unheld role');
  });

  t.test('owner and administrators ignore overrides', async (t) => {
    const denyAll: Override[] = [everyoneOv({ deny: ALL_PERMISSIONS }), roleOv('10', { deny: ALL_PERMISSIONS }), memberOv(ME, { deny: ALL_PERMISSIONS })];
    t.equal(at(denyAll, asOwner(plain)), ALL_PERMISSIONS, 'the owner');
    t.equal(at(denyAll, { ...plain, roles: [role('10', F.ADMINISTRATOR)] }), ALL_PERMISSIONS, 'ADMINISTRATOR via a role');
    t.equal(at(denyAll, { ...plain, everyone: F.ADMINISTRATOR }), ALL_PERMISSIONS, 'ADMINISTRATOR via @everyone');
  });

  t.test('unknown bits in overrides are masked off', async (t) => {
    t.equal(at([everyoneOv({ allow: (1n << 12n) | (1n << 45n) }), memberOv(ME, { allow: 1n << 39n })]), base);
  });

  t.test('a private channel and a muted role', async (t) => {
    const mods = member({ everyone: DEFAULT_EVERYONE_PERMISSIONS, roles: [role('10', 0n)] });
    const priv = [everyoneOv({ deny: F.VIEW_CHANNEL }), roleOv('10', { allow: F.VIEW_CHANNEL })];
    t.ok(has(channelPermissions(mods, SERVER, priv), F.VIEW_CHANNEL), 'a mod sees it');
    t.notOk(has(channelPermissions({ ...mods, roles: [] }, SERVER, priv), F.VIEW_CHANNEL), 'nobody else does');
    // Removing a role whose override denies can restore a bit: Discord's semantics, hence the
    // precondition on the "removing a role" property below.
    const muted = member({ everyone: DEFAULT_EVERYONE_PERMISSIONS, roles: [role('11', 0n)] });
    const mute = [roleOv('11', { deny: F.SEND_MESSAGES })];
    t.notOk(has(channelPermissions(muted, SERVER, mute), F.SEND_MESSAGES), 'muted');
    t.ok(has(channelPermissions({ ...muted, roles: [] }, SERVER, mute), F.SEND_MESSAGES), 'unmuted by removing the role');
  });

  t.test('an override cannot confer ADMINISTRATOR', async (t) => {
    const perms = channelPermissions(member({ everyone: F.VIEW_CHANNEL }), SERVER, [memberOv(ME, { allow: F.ADMINISTRATOR })]);
    t.notOk(has(perms, F.MANAGE_MESSAGES), 'an allow of ADMINISTRATOR in a channel override grants nothing else');
  });
});

// ---------------------------------------------------------------------------------------------
// 4. has()

t.test('has', async (t) => {
  for (const [name] of TABLE) {
    const flag = Flags[name];
    t.ok(has(flag, flag), `${name} alone passes ${name}`);
    t.ok(has(ALL_PERMISSIONS, flag), `ALL passes ${name}`);
    if (flag !== F.ADMINISTRATOR) t.notOk(has(ALL_PERMISSIONS & ~flag & ~F.ADMINISTRATOR, flag), `everything but ${name} (and ADMINISTRATOR) fails it`);
  }
  t.notOk(has(0n, F.VIEW_CHANNEL));
  t.notOk(has(F.VIEW_CHANNEL, F.VIEW_CHANNEL | F.READ_MESSAGE_HISTORY), 'a multi-bit check needs every bit');
  t.notOk(has(F.READ_MESSAGE_HISTORY, F.VIEW_CHANNEL | F.READ_MESSAGE_HISTORY));
  t.ok(has(F.VIEW_CHANNEL | F.READ_MESSAGE_HISTORY | F.SEND_MESSAGES, F.VIEW_CHANNEL | F.READ_MESSAGE_HISTORY));
  t.ok(has(F.ADMINISTRATOR, F.MODERATE_MEMBERS | F.BAN_MEMBERS), 'ADMINISTRATOR passes everything');
  t.ok(has(F.ADMINISTRATOR, ALL_PERMISSIONS));
});

// ---------------------------------------------------------------------------------------------
// 5. Hierarchy

t.test('topPosition', async (t) => {
  t.equal(topPosition(member()), 0, 'only @everyone');
  t.equal(topPosition(member({ roles: [role('10', 0n, 3), role('11', 0n, 7), role('12', 0n, 5)] })), 7, 'the highest, in any order');
});

t.test("canManageRole: only below the actor's top role", async (t) => {
  const actor = member({ everyone: F.MANAGE_ROLES, roles: [role('10', F.MANAGE_ROLES, 5), role('11', 0n, 2)] });
  t.ok(canManageRole(actor, 4), 'below');
  t.ok(canManageRole(actor, 0), '@everyone');
  t.notOk(canManageRole(actor, 5), 'equal is refused');
  t.notOk(canManageRole(actor, 6), 'above is refused');
  t.notOk(canManageRole(member({ everyone: F.MANAGE_ROLES }), 0), 'with no role, not even @everyone');
  t.ok(canManageRole(asOwner(member()), 100), 'the owner, always');
  t.ok(canManageRole(member({ roles: [role('10', F.ADMINISTRATOR, 1)] }), 100), 'an administrator, always');
  t.ok(canManageRole(member({ everyone: F.ADMINISTRATOR }), 100), 'an administrator via @everyone, always');
});

t.test('canGrant: no escalation', async (t) => {
  const actor = member({ everyone: F.VIEW_CHANNEL, roles: [role('10', F.SEND_MESSAGES | F.MANAGE_ROLES, 5)] });
  t.ok(canGrant(actor, 0n), 'nothing');
  t.ok(canGrant(actor, F.SEND_MESSAGES), 'a bit from a role');
  t.ok(canGrant(actor, F.VIEW_CHANNEL | F.SEND_MESSAGES | F.MANAGE_ROLES), 'every held bit');
  t.notOk(canGrant(actor, F.KICK_MEMBERS), 'a bit not held');
  t.notOk(canGrant(actor, F.SEND_MESSAGES | F.KICK_MEMBERS), 'held and not held');
  t.notOk(canGrant(actor, F.ADMINISTRATOR), 'ADMINISTRATOR');
  for (const [who, m] of [['owner', asOwner(member())], ['administrator', member({ roles: [role('10', F.ADMINISTRATOR)] })]] as const) {
    t.ok(canGrant(m, ALL_PERMISSIONS), `the ${who} may grant every flag`);
    t.ok(canGrant(m, F.ADMINISTRATOR | F.MODERATE_MEMBERS), `the ${who} may grant ADMINISTRATOR`);
    t.notOk(canGrant(m, 1n << 12n), `but not a bit outside the table (${who})`);
  }
});

t.test('canModerate: kick/ban hierarchy', async (t) => {
  const at = (position: number, permissions = 0n, userId = ME) => member({ userId, roles: [role(`r${position}`, permissions, position)] });
  const owner = asOwner(member());
  t.notOk(canModerate(at(9, F.ADMINISTRATOR), owner), 'an administrator cannot moderate the owner');
  t.notOk(canModerate(owner, owner), 'nor can the owner');
  t.ok(canModerate(owner, at(9, F.ADMINISTRATOR, OTHER)), 'the owner moderates anyone else');
  t.ok(canModerate(at(1, F.ADMINISTRATOR), at(9, 0n, OTHER)), 'an administrator moderates a non-owner above it');
  t.ok(canModerate(member({ everyone: F.ADMINISTRATOR }), at(9, 0n, OTHER)), 'so does an administrator via @everyone');
  t.ok(canModerate(at(6, F.BAN_MEMBERS), at(5, 0n, OTHER)), 'below the actor');
  t.notOk(canModerate(at(5, F.BAN_MEMBERS), at(5, 0n, OTHER)), 'equal top positions are refused');
  t.notOk(canModerate(at(4, F.BAN_MEMBERS), at(5, 0n, OTHER)), 'above the actor is refused');
  t.notOk(canModerate(member({ everyone: F.BAN_MEMBERS }), member({ userId: OTHER })), 'two members with no roles');
  t.ok(canModerate(at(6, F.BAN_MEMBERS), at(3, F.ADMINISTRATOR, OTHER)), "a target's ADMINISTRATOR does not lift it above the hierarchy");
});

// ---------------------------------------------------------------------------------------------
// 6. Properties

const FLAG_VALUES = TABLE.map(([, value]) => BigInt(value));
const orOf = (bits: bigint[]) => bits.reduce((all, b) => all | b, 0n);
/** A mask of defined flags, sparse or dense; `admin: false` leaves ADMINISTRATOR out. */
const maskArb = ({ admin }: { admin: boolean }) => {
  const pool = admin ? FLAG_VALUES : FLAG_VALUES.filter((f) => f !== F.ADMINISTRATOR);
  return fc.oneof(fc.subarray(pool).map(orOf), fc.bigInt({ min: 0n, max: ALL_PERMISSIONS }).map((b) => b & orOf(pool)));
};
/** Anything a BIGINT column holds, unknown and sign bits included. */
const int64Arb = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });

const ROLE_IDS = ['10', '11', '12', '13', '14', '15'];
const rolesArb = (perms: fc.Arbitrary<bigint>) =>
  fc.uniqueArray(fc.record({ id: fc.constantFrom(...ROLE_IDS), permissions: perms, position: fc.integer({ min: 1, max: 8 }) }), {
    selector: (r) => r.id,
    maxLength: 4,
  });
/** A non-owner member (use asOwner for the owner). */
const memberArb = (perms: fc.Arbitrary<bigint>, minRoles = 0): fc.Arbitrary<MemberContext> =>
  fc.record({
    userId: fc.constant(ME),
    ownerId: fc.constant(OWNER),
    everyone: perms,
    roles: rolesArb(perms).filter((r) => r.length >= minRoles),
  });

const overrideArb = (perms: fc.Arbitrary<bigint>, memberTargets = [ME, OTHER, OWNER]): fc.Arbitrary<Override> =>
  fc.oneof(
    fc.record({ targetId: fc.constant(SERVER), targetType: fc.constant('role' as const), allow: perms, deny: perms }),
    fc.record({ targetId: fc.constantFrom(...ROLE_IDS, '99'), targetType: fc.constant('role' as const), allow: perms, deny: perms }),
    fc.record({ targetId: fc.constantFrom(...memberTargets), targetType: fc.constant('member' as const), allow: perms, deny: perms }),
  );
/** A channel's overrides: at most one per target, as the table's key enforces. */
const overridesArb = (perms: fc.Arbitrary<bigint>, memberTargets?: string[]) =>
  fc.uniqueArray(overrideArb(perms, memberTargets), { selector: (o) => `${o.targetType}:${o.targetId}`, maxLength: 8 });

const anyMask = maskArb({ admin: true });
const nonAdminMask = maskArb({ admin: false });

t.test('property: the owner holds everything, whatever the overrides', async (t) => {
  holds(t, 'owner', fc.property(memberArb(anyMask), overridesArb(anyMask), (m, ovs) => {
    const owner = asOwner(m);
    return basePermissions(owner) === ALL_PERMISSIONS && channelPermissions(owner, SERVER, ovs) === ALL_PERMISSIONS;
  }));
});

t.test('property: ADMINISTRATOR in any held role ignores overrides', async (t) => {
  holds(t, 'administrator', fc.property(memberArb(anyMask), overridesArb(anyMask), fc.nat(), (m, ovs, pick) => {
    // Slot 0 is @everyone, slot i the i-th assigned role.
    const slot = pick % (m.roles.length + 1);
    const admin: MemberContext = {
      ...m,
      everyone: slot === 0 ? m.everyone | F.ADMINISTRATOR : m.everyone,
      roles: m.roles.map((r, i) => (i === slot - 1 ? { ...r, permissions: r.permissions | F.ADMINISTRATOR } : r)),
    };
    return channelPermissions(admin, SERVER, ovs) === ALL_PERMISSIONS;
  }));
});

t.test("property: the member's own override always wins", async (t) => {
  const others = overridesArb(anyMask, [OTHER, OWNER]);
  holds(t, 'own override', fc.property(memberArb(nonAdminMask), others, nonAdminMask, nonAdminMask, fc.nat(), (m, ovs, allow, deny, at) => {
    const withOwn = ovs.toSpliced(at % (ovs.length + 1), 0, memberOv(ME, { allow, deny }));
    const perms = channelPermissions(m, SERVER, withOwn);
    return (perms & allow) === allow && (perms & deny & ~allow) === 0n;
  }));
});

t.test('property: removing a role never adds a permission', async (t) => {
  holds(t, 'server level', fc.property(memberArb(anyMask, 1), fc.nat(), (m, pick) => {
    const fewer = { ...m, roles: m.roles.toSpliced(pick % m.roles.length, 1) };
    return within(basePermissions(fewer), basePermissions(m));
  }));
  // A role override that denies can hide bits, so its removal may restore them (see the muted-role
  // case above); with the removed role's overrides denying nothing, removal is monotone.
  holds(t, 'channel level', fc.property(memberArb(anyMask, 1), overridesArb(anyMask), fc.nat(), (m, ovs, pick) => {
    const removed = m.roles[pick % m.roles.length];
    const fewer = { ...m, roles: m.roles.filter((r) => r !== removed) };
    const chan = ovs.map((o) => (o.targetType === 'role' && o.targetId === removed.id ? { ...o, deny: 0n } : o));
    return within(channelPermissions(fewer, SERVER, chan), channelPermissions(m, SERVER, chan));
  }));
});

t.test('property: results never hold bits outside ALL_PERMISSIONS', async (t) => {
  holds(t, 'masked', fc.property(memberArb(int64Arb), overridesArb(int64Arb), fc.boolean(), (m, ovs, owner) => {
    const who = owner ? asOwner(m) : m;
    return [basePermissions(who), channelPermissions(who, SERVER, ovs)].every((p) => p >= 0n && within(p, ALL_PERMISSIONS));
  }));
});

t.test('property: with no overrides that concern the member, channel level equals server level', async (t) => {
  holds(t, 'no overrides', fc.property(memberArb(anyMask), fc.boolean(), (m, owner) => {
    const who = owner ? asOwner(m) : m;
    return channelPermissions(who, SERVER, []) === basePermissions(who);
  }));
  holds(t, 'only foreign overrides', fc.property(memberArb(anyMask), overridesArb(anyMask, [OTHER, OWNER]), (m, ovs) => {
    const held = new Set([SERVER, ...m.roles.map((r) => r.id)]);
    const foreign = ovs.filter((o) => o.targetType === 'member' || !held.has(o.targetId));
    return channelPermissions(m, SERVER, foreign) === basePermissions(m);
  }));
});

t.test('property: an actor may grant what it holds', async (t) => {
  holds(t, 'canGrant(base)', fc.property(memberArb(int64Arb), fc.boolean(), (m, owner) => {
    const who = owner ? asOwner(m) : m;
    return canGrant(who, basePermissions(who));
  }));
});

t.test('property: moderation', async (t) => {
  holds(t, 'nobody moderates the owner', fc.property(memberArb(anyMask), memberArb(anyMask), fc.boolean(), (actor, target, actorIsOwner) => {
    return !canModerate(actorIsOwner ? asOwner(actor) : actor, asOwner({ ...target, userId: OTHER }));
  }));
  holds(t, 'two non-administrators never moderate each other', fc.property(memberArb(nonAdminMask), memberArb(nonAdminMask), (a, b) => {
    const other = { ...b, userId: OTHER };
    return !(canModerate(a, other) && canModerate(other, a));
  }));
});
