// Owns presence in Redis, shared by every gateway and read by the API: which sockets each user has
// open, which gateway process (node) holds each socket, and which nodes are alive. A user is online
// while they have at least one registered socket. Every change is one Lua script, so two tabs on
// two gateways connecting or disconnecting at once see exactly one 0→1 or 1→0 transition.
//
// Key layout, under keys.realtime (`<prefix>{rt}:`, one hash tag so the scripts may touch them together):
//   nodes             SET  of node ids that registered sockets
//   hb:<node>         STRING, expires after the heartbeat TTL: the node is alive while it exists
//   node:<node>       HASH socket id → "<userId>:<username>" (what a reaper needs to clean up)
//   user:<userId>     SET  of the user's socket ids, on any node (online ⇔ non-empty)
//   voice:<userId>    STRING JSON OwnedVoiceState (shared/voice.ts)
//   vs:<serverId>     HASH userId → the same JSON (shared/voice.ts)
// A node whose heartbeat expired is reaped by whichever live gateway runs the reap script first
// (the script is atomic, so a second run finds nothing left): its sockets are unregistered, users
// left with none go offline, and voice states those sockets owned end.
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis.ts';
import { parseVoiceState, type OwnedVoiceState } from './voice.ts';

const CONNECT = `
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 1 then return 1 end
return 0`;

const DISCONNECT = `
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 0 then return 1 end
return 0`;

// ARGV[1] the realtime prefix; ARGV[2] one node to clean up regardless of its heartbeat (a
// gateway's own, at shutdown), or '' for every node whose heartbeat expired.
const REAP = `
local p = ARGV[1]
local nodes = ARGV[2] ~= '' and {ARGV[2]} or redis.call('SMEMBERS', p .. 'nodes')
local offline, ended = {}, {}
for _, node in ipairs(nodes) do
  if ARGV[2] ~= '' or redis.call('EXISTS', p .. 'hb:' .. node) == 0 then
    local sockets = redis.call('HGETALL', p .. 'node:' .. node)
    for i = 1, #sockets, 2 do
      local sid, who = sockets[i], sockets[i + 1]
      local userId = string.match(who, '^(%d+):')
      local ukey = p .. 'user:' .. userId
      if redis.call('SREM', ukey, sid) == 1 and redis.call('SCARD', ukey) == 0 then table.insert(offline, who) end
      local vkey = p .. 'voice:' .. userId
      local raw = redis.call('GET', vkey)
      if raw and cjson.decode(raw).socketId == sid then
        redis.call('DEL', vkey)
        redis.call('HDEL', p .. 'vs:' .. cjson.decode(raw).serverId, userId)
        table.insert(ended, raw)
      end
    end
    redis.call('DEL', p .. 'node:' .. node, p .. 'hb:' .. node)
    redis.call('SREM', p .. 'nodes', node)
  end
end
return {offline, ended}`;

export interface Reaped {
  offline: { userId: string; username: string }[];
  voice: OwnedVoiceState[];
}

export function presenceStore(redis: Redis, keys: RedisKeys) {
  const p = keys.realtime;
  const user = (userId: string) => `${p}user:${userId}`;
  const node = (nodeId: string) => `${p}node:${nodeId}`;

  return {
    /** Which of `userIds` are online, in one round trip. */
    async online(userIds: readonly string[]): Promise<Set<string>> {
      if (!userIds.length) return new Set();
      const pipeline = redis.pipeline();
      for (const id of userIds) pipeline.exists(user(id));
      const replies = (await pipeline.exec()) ?? [];
      return new Set(userIds.filter((_, i) => replies[i]?.[1] === 1));
    },

    /** Registers a socket of `nodeId`; true when it is the user's first (they came online). */
    async connect(nodeId: string, socketId: string, userId: string, username: string): Promise<boolean> {
      return (await redis.eval(CONNECT, 3, user(userId), node(nodeId), `${p}nodes`, socketId, `${userId}:${username}`, nodeId)) === 1;
    },

    /** Unregisters a socket; true when it was the user's last (they went offline). */
    async disconnect(nodeId: string, socketId: string, userId: string): Promise<boolean> {
      return (await redis.eval(DISCONNECT, 2, user(userId), node(nodeId), socketId)) === 1;
    },

    /**
     * Refreshes a node's heartbeat for `ttlMs`. `create` starts it; otherwise false means it had
     * expired (the node may have been reaped: its sockets no longer count).
     */
    async heartbeat(nodeId: string, ttlMs: number, create = false): Promise<boolean> {
      const key = `${p}hb:${nodeId}`;
      return (await (create ? redis.set(key, '1', 'PX', ttlMs) : redis.set(key, '1', 'PX', ttlMs, 'XX'))) === 'OK';
    },

    /** Reaps every node whose heartbeat expired, or only `nodeId` (its own, at shutdown). */
    async reap(nodeId = ''): Promise<Reaped> {
      const [offline, voice] = (await redis.eval(REAP, 0, p, nodeId)) as [string[], string[]];
      return {
        offline: offline.map((who) => {
          const at = who.indexOf(':');
          return { userId: who.slice(0, at), username: who.slice(at + 1) };
        }),
        voice: voice.map(parseVoiceState),
      };
    },
  };
}

export type PresenceStore = ReturnType<typeof presenceStore>;
