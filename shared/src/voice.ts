// Owns voice state in Redis (key layout in presence.ts): who is in which server voice channel,
// muted or deafened, and which socket owns that state. A user has at most one state; it ends on
// leave, when its owning socket disconnects, when that socket's gateway dies (presence's reaper),
// when the member leaves or is removed from the server, or when LiveKit reports them gone. The
// gateway and the API both change it through here; whoever ends a state announces it.
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis.ts';
import type { VoiceState } from './wire.ts';

/** A voice state with the socket that owns it. */
export interface OwnedVoiceState extends VoiceState {
  socketId: string;
}

// KEYS[1] voice:<user>, KEYS[2] vs:<server>, KEYS[3] node:<node>; ARGV prefix, userId, state, socketId.
// Joins only while the socket is still registered (it may have disconnected during the check).
const JOIN = `
if redis.call('HEXISTS', KEYS[3], ARGV[4]) == 0 then return false end
local old = redis.call('GET', KEYS[1])
if old then redis.call('HDEL', ARGV[1] .. 'vs:' .. cjson.decode(old).serverId, ARGV[2]) end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return old or ''`;

// KEYS[1] voice:<user>; ARGV prefix, userId, then filters ('' = any): channelId, socketId, serverId.
const END = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local s = cjson.decode(raw)
if (ARGV[3] ~= '' and s.channelId ~= ARGV[3]) or (ARGV[4] ~= '' and s.socketId ~= ARGV[4])
  or (ARGV[5] ~= '' and s.serverId ~= ARGV[5]) then return false end
redis.call('DEL', KEYS[1])
redis.call('HDEL', ARGV[1] .. 'vs:' .. s.serverId, ARGV[2])
return raw`;

// KEYS[1] voice:<user>; ARGV prefix, userId, muted, deafened ('1', '0' or '' = unchanged).
const UPDATE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local s = cjson.decode(raw)
if ARGV[3] ~= '' then s.muted = ARGV[3] == '1' end
if ARGV[4] ~= '' then s.deafened = ARGV[4] == '1' end
local out = cjson.encode(s)
redis.call('SET', KEYS[1], out)
redis.call('HSET', ARGV[1] .. 'vs:' .. s.serverId, ARGV[2], out)
return out`;

// KEYS[1] vs:<server>; ARGV prefix, channelId ('' = every channel of the server).
const CLEAR = `
local entries = redis.call('HGETALL', KEYS[1])
local ended = {}
for i = 1, #entries, 2 do
  if ARGV[2] == '' or cjson.decode(entries[i + 1]).channelId == ARGV[2] then
    redis.call('HDEL', KEYS[1], entries[i])
    local vkey = ARGV[1] .. 'voice:' .. entries[i]
    if redis.call('GET', vkey) == entries[i + 1] then redis.call('DEL', vkey) end
    table.insert(ended, entries[i + 1])
  end
end
return ended`;

export function parseVoiceState(raw: string): OwnedVoiceState {
  return JSON.parse(raw) as OwnedVoiceState;
}

/** What clients see of a state (never the owning socket). */
export const publicVoiceState = ({ userId, username, channelId, serverId, muted, deafened }: VoiceState): VoiceState =>
  ({ userId, username, channelId, serverId, muted, deafened });

/** The `voice_state_update` payload for a state that began, changed (joined) or ended. */
export const voiceUpdate = ({ userId, username, channelId, muted, deafened }: VoiceState, joined: boolean) =>
  ({ userId, username, channelId, joined, muted, deafened });

const flag = (v: boolean | undefined) => (v === undefined ? '' : v ? '1' : '0');

export function voiceStore(redis: Redis, keys: RedisKeys) {
  const p = keys.realtime;
  const user = (userId: string) => `${p}voice:${userId}`;
  const server = (serverId: string) => `${p}vs:${serverId}`;
  const parsed = (raw: unknown) => (typeof raw === 'string' && raw ? parseVoiceState(raw) : null);

  return {
    /**
     * Makes `state` the user's voice state, owned by its socket on `nodeId`. Null when that socket
     * is no longer registered; else the state it replaced, if any.
     */
    async join(state: OwnedVoiceState, nodeId: string): Promise<{ previous: OwnedVoiceState | null } | null> {
      const raw = await redis.eval(JOIN, 3, user(state.userId), server(state.serverId), `${p}node:${nodeId}`,
        p, state.userId, JSON.stringify(state), state.socketId);
      return raw === null ? null : { previous: parsed(raw) };
    },

    /** Ends the user's state if it matches every filter given; the ended state, or null. */
    async end(userId: string, only: { channelId?: string; socketId?: string; serverId?: string } = {}): Promise<OwnedVoiceState | null> {
      return parsed(await redis.eval(END, 1, user(userId), p, userId, only.channelId ?? '', only.socketId ?? '', only.serverId ?? ''));
    },

    /** Sets muted/deafened (either may be left out); the new state, or null when not in voice. */
    async update(userId: string, change: { muted?: boolean; deafened?: boolean }): Promise<OwnedVoiceState | null> {
      return parsed(await redis.eval(UPDATE, 1, user(userId), p, userId, flag(change.muted), flag(change.deafened)));
    },

    /** Ends every state in a server, or in one of its channels; the ended states. */
    async clear(serverId: string, channelId = ''): Promise<OwnedVoiceState[]> {
      return ((await redis.eval(CLEAR, 1, server(serverId), p, channelId)) as string[]).map(parseVoiceState);
    },

    /** Who is in voice in a server, as clients see it. */
    async inServer(serverId: string): Promise<VoiceState[]> {
      return (await redis.hvals(server(serverId))).map((raw) => publicVoiceState(parseVoiceState(raw)));
    },
  };
}

export type VoiceStore = ReturnType<typeof voiceStore>;
