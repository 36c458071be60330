# syntax=docker/dockerfile:1
# One image for every NexusGuild service; the command picks which one runs:
#   npm run start:api | start:gateway | start:worker | migrate | start (all-in-one)
# Nothing is compiled: services run TypeScript through `node --import tsx`, so tsx (a dev
# dependency) must be installed and the sources ship as they are.

# --- deps: install the locked dependency tree, cached until a manifest changes ---------------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# Every workspace manifest, so `npm ci` can lay out the workspace links.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/api/package.json services/api/
COPY services/gateway/package.json services/gateway/
COPY services/worker/package.json services/worker/
COPY services/standalone/package.json services/standalone/
# No --omit=optional: native code (esbuild for tsx, argon2's prebuilds, ...) arrives as optional
# platform packages. No --omit=dev: tsx runs the services.
RUN npm ci --no-audit --no-fund && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
# node_modules (with workspace symlinks and any nested node_modules) from the deps stage, then
# the sources. Everything stays owned by root and read-only to the service user.
COPY --from=deps /app ./
COPY tsconfig.json ./
COPY shared ./shared
COPY services ./services
# The image's unprivileged `node` user (uid 1000); tsx caches in /tmp, which it can write.
USER node
EXPOSE 3000
CMD ["npm", "run", "start:api"]
