# pg_lockwatch container image (Debian bookworm).
#
#   docker build -t pg_lockwatch .        (without a Docker engine: scripts/image.sh)
#   docker run -d --name pg_lockwatch -p 9188:9188 \
#     -v "$PWD/dsn:/run/secrets/dsn:ro" pg_lockwatch
#
# The config's dsn_file = "${CREDENTIALS_DIRECTORY}/dsn"; in the container
# CREDENTIALS_DIRECTORY=/run/secrets, so a Docker/Kubernetes secret named "dsn"
# (a libpq connection string for the "lockwatch" role) is all it needs.

# ---------------------------------------------------------------- build
FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# Dependencies first, so that source edits do not re-run apt-get.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN bash scripts/build.sh build -DBUILD_TESTING=OFF \
 && DESTDIR=/out cmake --install build --prefix /usr --strip \
 && test -x /out/usr/bin/pg_lockwatch

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (the -dev packages stay in the build stage);
# curl is for the HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpqxx-6.4 libspdlog1.10 libfmt9 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libtomlplusplus3 libsystemd0 libcivetweb1 libssl3 libpg-query1504.0 \
      curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Fixed numeric uid/gid so Kubernetes runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 pg_lockwatch \
 && useradd --system --uid 10001 --gid pg_lockwatch --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin pg_lockwatch
COPY --from=build /out/usr/bin/pg_lockwatch /usr/bin/pg_lockwatch
# The OpenSSL 3 compat stubs civetweb needs for [http] TLS (docs/SECURITY.md).
COPY --from=build /out/usr/lib/pg_lockwatch/ /usr/lib/pg_lockwatch/
COPY config/pg_lockwatch.toml /etc/pg_lockwatch/pg_lockwatch.toml
# Config readable by the daemon's group only; fail the build if a shared
# library the binary needs is not installed above.
RUN chown -R root:pg_lockwatch /etc/pg_lockwatch \
 && chmod 0750 /etc/pg_lockwatch && chmod 0640 /etc/pg_lockwatch/pg_lockwatch.toml \
 && if ldd /usr/bin/pg_lockwatch /usr/lib/pg_lockwatch/*.so | grep 'not found'; then exit 1; fi
ENV CREDENTIALS_DIRECTORY=/run/secrets
USER 10001:10001
EXPOSE 9188
# With [http] TLS on, use: curl -fsSk https://127.0.0.1:9188/healthz (/healthz stays open
# under basic auth unless healthz_requires_auth = true).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:9188/healthz || exit 1
ENTRYPOINT ["pg_lockwatch"]
CMD ["run", "--config", "/etc/pg_lockwatch/pg_lockwatch.toml", "--listen", "0.0.0.0:9188"]
