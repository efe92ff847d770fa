# The integrator's image. The same image also runs the mock customers, the load generator and the tracking
# API (docker-compose.yml gives each its own `command:`). Node 24 LTS, pinned to a release the official
# image documents (deploy/image-env.json); .dockerignore keeps node_modules, .git and local state out of
# the build context.

FROM node:24.19.0-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY mock-customers ./mock-customers
COPY load ./load
RUN npm run build

FROM node:24.19.0-slim AS runtime
ENV NODE_ENV=production
# Two malloc arenas: the same work in ~25 MB less resident memory (README "Cost").
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# The console's static files (HTML, CSS, JS modules) are served as they are, not compiled.
COPY --from=build /app/src/console/public ./dist/src/console/public
USER node
EXPOSE 8080
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "--invocation-count-for-turbofan=30000", "dist/src/main.js"]
