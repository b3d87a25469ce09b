# syntax=docker/dockerfile:1
# Build: compile TypeScript, then keep production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm 10 (this image's) ignores package.json's allowScripts (npm 11.16+) and would run every
# dependency's install script, @scarf/scarf's analytics among them. Install with none, then run
# only those allowScripts allows (read from package.json, so the two cannot drift apart).
RUN npm ci --no-audit --no-fund --ignore-scripts \
  && npm rebuild $(node -e "const a=require('./package.json').allowScripts;console.log(Object.keys(a).filter((k)=>a[k]===true).join(' '))")
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run: no compiler, no dev dependencies, a non-root user, read-only application files.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root migrations ./migrations
COPY --chown=root:root rules ./rules
COPY --chown=root:root templates ./templates
# Data read at run time next to the compiled code: the questionnaire definitions.
COPY --chown=root:root src/questionnaire/*.json ./src/questionnaire/
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# The port the service listens on (PORT, which a container may override), not a fixed 3000.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
