# websockify in a container: docker build -t websockify . && docker run -p 6080:6080 websockify 6080 vnc.example:5900
# The build stage packs this checkout and installs the tarball globally (compiling rebind.so
# and websockify-init); the image has Node and the installed package only, and runs as the
# unprivileged user `node`. websockify is the ENTRYPOINT: as PID 1 its launcher runs node under
# websockify-init, which reaps orphans and passes signals on (docker stop sends SIGTERM:
# clients get 1001, exit 0).

FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci \
 && npm pack \
 && npm install -g --prefix /opt/websockify ./websockify-node-*.tgz \
 && test -x /opt/websockify/lib/node_modules/websockify-node/build/Release/websockify-init

FROM node:20-bookworm-slim
COPY --from=build /opt/websockify /opt/websockify
ENV PATH=/opt/websockify/bin:$PATH \
    WEBSOCKIFY_HEALTH_URL=http://127.0.0.1:6080/healthz
USER node
EXPOSE 6080
# Healthy while websockify's /healthz answers 200 on its port (503 while it drains, with
# --drain-seconds); set WEBSOCKIFY_HEALTH_URL when it listens elsewhere (https:// for --ssl-only).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["node", "-e", "fetch(process.env.WEBSOCKIFY_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["websockify"]
CMD ["6080", "127.0.0.1:5900"]
