-- The whole data model. Ids are snowflakes stored as BIGINT (postgres.js hands int8 back as a
-- decimal string, which is the wire format), so they compare numerically and index compactly.
-- DMs and group DMs are channels without a server (as in Discord): messages, attachments and
-- reactions then have one table each, one code path, and one set of indexes.

CREATE TABLE users (
  id             BIGINT PRIMARY KEY,
  username       VARCHAR(32)  NOT NULL,
  email          VARCHAR(255) NOT NULL,
  password_hash  TEXT         NOT NULL,
  avatar         VARCHAR(255),
  custom_status  VARCHAR(128),
  created_at     TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE servers (
  id          BIGINT PRIMARY KEY,
  name        VARCHAR(100) NOT NULL,
  icon        VARCHAR(255),
  owner_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE server_members (
  server_id  BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
  user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  nickname   VARCHAR(32),
  joined_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (server_id, user_id)
);
CREATE INDEX server_members_user_idx ON server_members (user_id, joined_at);

-- The @everyone role has the server's own id (as in Discord), so it needs no lookup by name.
CREATE TABLE roles (
  id           BIGINT PRIMARY KEY,
  server_id    BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
  name         VARCHAR(100) NOT NULL,
  color        VARCHAR(7)   NOT NULL DEFAULT '#99AAB5',
  permissions  BIGINT       NOT NULL DEFAULT 0 CHECK (permissions >= 0),
  position     INTEGER      NOT NULL DEFAULT 0,
  hoist        BOOLEAN      NOT NULL DEFAULT false,
  mentionable  BOOLEAN      NOT NULL DEFAULT false,
  created_at   TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX roles_server_idx ON roles (server_id, position);

-- Explicit role assignments; @everyone is implied by membership and has no rows here.
CREATE TABLE member_roles (
  server_id  BIGINT NOT NULL,
  user_id    BIGINT NOT NULL,
  role_id    BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  PRIMARY KEY (server_id, user_id, role_id),
  FOREIGN KEY (server_id, user_id) REFERENCES server_members (server_id, user_id) ON DELETE CASCADE
);
CREATE INDEX member_roles_role_idx ON member_roles (role_id);

-- Every place messages live: server channels (text, voice, category, announcement, forum, media,
-- threads) and conversations (dm, group_dm, with server_id NULL).
-- parent_id: a channel's category, or a thread's parent channel (text/announcement/forum).
CREATE TABLE channels (
  id                 BIGINT PRIMARY KEY,
  server_id          BIGINT REFERENCES servers (id) ON DELETE CASCADE,
  type               VARCHAR(20)  NOT NULL CHECK (type IN
                       ('text','voice','category','announcement','forum','media','thread','private_thread','dm','group_dm')),
  name               VARCHAR(100),
  topic              VARCHAR(1024),
  position           INTEGER      NOT NULL DEFAULT 0,
  parent_id          BIGINT REFERENCES channels (id) ON DELETE SET NULL,
  parent_message_id  BIGINT,
  owner_id           BIGINT REFERENCES users (id) ON DELETE SET NULL,
  icon               VARCHAR(255),
  -- 1:1 DMs: "<smaller user id>:<larger user id>", so each pair has exactly one conversation.
  dm_key             VARCHAR(41) UNIQUE,
  created_at         TIMESTAMPTZ  NOT NULL DEFAULT now(),
  CHECK ((server_id IS NULL) = (type IN ('dm','group_dm')))
);
CREATE INDEX channels_server_idx ON channels (server_id, position) WHERE server_id IS NOT NULL;
CREATE INDEX channels_parent_idx ON channels (parent_id) WHERE parent_id IS NOT NULL;
CREATE UNIQUE INDEX channels_parent_message_key ON channels (parent_message_id) WHERE parent_message_id IS NOT NULL;

-- Participants of dm/group_dm channels, and of private threads.
CREATE TABLE channel_members (
  channel_id  BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  joined_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_members_user_idx ON channel_members (user_id);

CREATE TABLE permission_overrides (
  channel_id   BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  target_id    BIGINT NOT NULL,
  target_type  VARCHAR(6) NOT NULL CHECK (target_type IN ('role','member')),
  allow        BIGINT NOT NULL DEFAULT 0 CHECK (allow >= 0),
  deny         BIGINT NOT NULL DEFAULT 0 CHECK (deny >= 0),
  PRIMARY KEY (channel_id, target_id)
);

CREATE TABLE messages (
  id                BIGINT PRIMARY KEY,
  channel_id        BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  author_id         BIGINT REFERENCES users (id) ON DELETE SET NULL,
  content           VARCHAR(2000) NOT NULL DEFAULT '',
  reply_to_id       BIGINT REFERENCES messages (id) ON DELETE SET NULL,
  -- Resolved at send time for unread/mention aggregation: @everyone/@here (when allowed) and user ids.
  mention_everyone  BOOLEAN  NOT NULL DEFAULT false,
  mentions          BIGINT[] NOT NULL DEFAULT '{}',
  pinned_at         TIMESTAMPTZ,
  pinned_by         BIGINT REFERENCES users (id) ON DELETE SET NULL,
  edited_at         TIMESTAMPTZ,
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- History pages, newest first or from a cursor, in one index range scan.
CREATE UNIQUE INDEX messages_channel_id_idx ON messages (channel_id, id);
CREATE INDEX messages_pinned_idx ON messages (channel_id, pinned_at) WHERE pinned_at IS NOT NULL;
CREATE INDEX messages_reply_idx ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL;

ALTER TABLE channels ADD FOREIGN KEY (parent_message_id) REFERENCES messages (id) ON DELETE CASCADE;

CREATE TABLE attachments (
  id              BIGINT PRIMARY KEY,
  message_id      BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  filename        VARCHAR(255) NOT NULL,
  storage_key     VARCHAR(512) NOT NULL,
  content_type    VARCHAR(255) NOT NULL,
  size            BIGINT       NOT NULL,
  width           INTEGER,
  height          INTEGER,
  thumbnail_key   VARCHAR(512),
  processed_at    TIMESTAMPTZ,
  created_at      TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message_idx ON attachments (message_id);

CREATE TABLE reactions (
  message_id  BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  emoji       VARCHAR(100) NOT NULL,
  user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, emoji, user_id)
);

CREATE TABLE custom_emojis (
  id            BIGINT PRIMARY KEY,
  server_id     BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
  name          VARCHAR(32) NOT NULL,
  storage_key   VARCHAR(512) NOT NULL,
  content_type  VARCHAR(64)  NOT NULL,
  created_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
  created_at    TIMESTAMPTZ  NOT NULL DEFAULT now(),
  UNIQUE (server_id, name)
);

CREATE TABLE invites (
  code        VARCHAR(8) PRIMARY KEY,        -- stored upper-case; lookups upper-case the input
  server_id   BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
  inviter_id  BIGINT  REFERENCES users (id) ON DELETE SET NULL,
  uses        INTEGER NOT NULL DEFAULT 0,
  max_uses    INTEGER NOT NULL DEFAULT 0 CHECK (max_uses >= 0),
  expires_at  TIMESTAMPTZ,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX invites_server_idx ON invites (server_id, created_at);

CREATE TABLE bans (
  server_id   BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
  user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  banned_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
  reason      VARCHAR(512),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (server_id, user_id)
);

-- Read cursor per user and channel, with the counts the worker aggregates after it.
CREATE TABLE read_states (
  user_id        BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  channel_id     BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  last_read_id   BIGINT  NOT NULL DEFAULT 0,
  unread_count   INTEGER NOT NULL DEFAULT 0,
  mention_count  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, channel_id)
);
CREATE INDEX read_states_channel_idx ON read_states (channel_id);
