// Owns authorization math: the flag table (notes §1.1) and Discord's resolution order, as pure
// functions over plain data. Loading that data is the access repo's job; deciding what a route
// needs is the route's. Nothing here touches a database.

/** Every flag, by name. Bits 12, 19, 37 and 39 are unused. */
export const Flags = {
  CREATE_INSTANT_INVITE: 1n << 0n,
  KICK_MEMBERS: 1n << 1n,
  BAN_MEMBERS: 1n << 2n,
  ADMINISTRATOR: 1n << 3n,
  MANAGE_CHANNELS: 1n << 4n,
  MANAGE_GUILD: 1n << 5n,
  ADD_REACTIONS: 1n << 6n,
  VIEW_AUDIT_LOG: 1n << 7n,
  PRIORITY_SPEAKER: 1n << 8n,
  STREAM: 1n << 9n,
  VIEW_CHANNEL: 1n << 10n,
  SEND_MESSAGES: 1n << 11n,
  MANAGE_MESSAGES: 1n << 13n,
  EMBED_LINKS: 1n << 14n,
  ATTACH_FILES: 1n << 15n,
  READ_MESSAGE_HISTORY: 1n << 16n,
  MENTION_EVERYONE: 1n << 17n,
  USE_EXTERNAL_EMOJIS: 1n << 18n,
  CONNECT: 1n << 20n,
  SPEAK: 1n << 21n,
  MUTE_MEMBERS: 1n << 22n,
  DEAFEN_MEMBERS: 1n << 23n,
  MOVE_MEMBERS: 1n << 24n,
  USE_VAD: 1n << 25n,
  CHANGE_NICKNAME: 1n << 26n,
  MANAGE_NICKNAMES: 1n << 27n,
  MANAGE_ROLES: 1n << 28n,
  MANAGE_WEBHOOKS: 1n << 29n,
  MANAGE_GUILD_EXPRESSIONS: 1n << 30n,
  USE_APPLICATION_COMMANDS: 1n << 31n,
  REQUEST_TO_SPEAK: 1n << 32n,
  MANAGE_EVENTS: 1n << 33n,
  MANAGE_THREADS: 1n << 34n,
  CREATE_PUBLIC_THREADS: 1n << 35n,
  CREATE_PRIVATE_THREADS: 1n << 36n,
  SEND_MESSAGES_IN_THREADS: 1n << 38n,
  MODERATE_MEMBERS: 1n << 40n,
} as const;
export type FlagName = keyof typeof Flags;

/** The OR of every defined flag: 1511827959807. What the owner (and an administrator) holds. */
export const ALL_PERMISSIONS = Object.values(Flags).reduce((all, f) => all | f, 0n);

/** A new server's @everyone: view, send, embed, attach, history, react, connect, speak, VAD, nickname. */
export const DEFAULT_EVERYONE_PERMISSIONS =
  Flags.VIEW_CHANNEL | Flags.SEND_MESSAGES | Flags.EMBED_LINKS | Flags.ATTACH_FILES | Flags.READ_MESSAGE_HISTORY |
  Flags.ADD_REACTIONS | Flags.CONNECT | Flags.SPEAK | Flags.USE_VAD | Flags.CHANGE_NICKNAME;

export interface RoleGrant {
  id: string;
  permissions: bigint;
  position: number;
}

/** Who a member is in one server: everything resolution needs. */
export interface MemberContext {
  userId: string;
  ownerId: string;
  /** The @everyone role's permissions (its id is the server id). */
  everyone: bigint;
  /** The member's assigned roles, without @everyone. */
  roles: RoleGrant[];
}

export interface Override {
  /** A role id (the server id for @everyone) or a user id. */
  targetId: string;
  targetType: 'role' | 'member';
  allow: bigint;
  deny: bigint;
}

export const isOwner = (m: MemberContext) => m.userId === m.ownerId;

/** Server-level permissions: owner → all; @everyone ∪ roles; ADMINISTRATOR → all. */
export function basePermissions(m: MemberContext): bigint {
  if (isOwner(m)) return ALL_PERMISSIONS;
  const base = m.roles.reduce((p, r) => p | r.permissions, m.everyone);
  return base & Flags.ADMINISTRATOR ? ALL_PERMISSIONS : base & ALL_PERMISSIONS;
}

/**
 * Channel-level permissions: the base, then the @everyone override, then every override of a role
 * the member holds (combined), then the member's own override; each step denies before it allows.
 * Administrators and the owner ignore overrides. A thread passes its parent channel's overrides.
 */
export function channelPermissions(m: MemberContext, serverId: string, overrides: readonly Override[]): bigint {
  let perms = basePermissions(m);
  if (perms & Flags.ADMINISTRATOR) return ALL_PERMISSIONS; // the owner's base holds it too
  const apply = (o: { allow: bigint; deny: bigint } | undefined) => {
    if (o) perms = (perms & ~o.deny) | o.allow;
  };
  const held = new Set(m.roles.map((r) => r.id));
  const roleOverrides = overrides.filter((o) => o.targetType === 'role');
  apply(roleOverrides.find((o) => o.targetId === serverId));
  apply(
    roleOverrides
      .filter((o) => o.targetId !== serverId && held.has(o.targetId))
      .reduce((sum, o) => ({ allow: sum.allow | o.allow, deny: sum.deny | o.deny }), { allow: 0n, deny: 0n }),
  );
  apply(overrides.find((o) => o.targetType === 'member' && o.targetId === m.userId));
  // ADMINISTRATOR is a server-level grant: an override can never confer it inside a channel.
  return perms & ALL_PERMISSIONS & ~Flags.ADMINISTRATOR;
}

/** True when `perms` hold every bit of `flags` (ADMINISTRATOR holds everything). */
export function has(perms: bigint, flags: bigint): boolean {
  return (perms & Flags.ADMINISTRATOR) !== 0n || (perms & flags) === flags;
}

/** The member's highest role position (0 = only @everyone). */
export function topPosition(m: MemberContext): number {
  return m.roles.reduce((top, r) => Math.max(top, r.position), 0);
}

/** Owners and administrators stand above the role hierarchy. */
export const aboveHierarchy = (m: MemberContext) => (basePermissions(m) & Flags.ADMINISTRATOR) !== 0n;

/** Role hierarchy: a role may be managed (edited, deleted, assigned, removed) only from above it. */
export function canManageRole(actor: MemberContext, rolePosition: number): boolean {
  return aboveHierarchy(actor) || rolePosition < topPosition(actor);
}

/** No escalation: the actor may only grant bits it holds itself. */
export function canGrant(actor: MemberContext, permissions: bigint): boolean {
  const held = basePermissions(actor);
  return (permissions & ~held) === 0n;
}

/** Kick/ban hierarchy: never the owner; below owners and admins, the target's top role must be below the actor's. */
export function canModerate(actor: MemberContext, target: MemberContext): boolean {
  if (isOwner(target)) return false;
  return aboveHierarchy(actor) || topPosition(target) < topPosition(actor);
}

/** The names of the flags in a mask, for error messages ("Missing permission: MANAGE_ROLES"). */
export function flagNames(mask: bigint): FlagName[] {
  return (Object.keys(Flags) as FlagName[]).filter((name) => (mask & Flags[name]) !== 0n);
}

/** The flag table as JSON numbers (GET /api/permissions). Every value is below 2^53. */
export function flagTable(): Record<FlagName, number> {
  return Object.fromEntries(Object.entries(Flags).map(([k, v]) => [k, Number(v)])) as Record<FlagName, number>;
}
