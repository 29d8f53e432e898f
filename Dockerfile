# syntax=docker/dockerfile:1
# The samsa image: both daemons (samsa-coord, samsa-broker), the Kafka-named tools and the
# Kubernetes entrypoint, on Debian 12. Built from this tree with the project's own scripts:
#
#   docker build -t samsa:0.1.0 .
#
# Stage 1 installs the build packages with deploy/install-deps --build-only, builds with meson
# and ninja, and `meson install`s into /usr/local (under /staging). Stage 2 is debian:bookworm-slim
# with only the shared libraries the binaries link (libevent, OpenSSL 3, protobuf-c, the
# ZooKeeper C client, librdkafka for the tools), run as the non-root user samsa (uid 10001).
# The deploy/k8s manifests run it as `samsa-entrypoint coord` or `samsa-entrypoint broker`.

FROM debian:bookworm-slim AS build
WORKDIR /src
COPY deploy/install-deps deploy/install-deps
RUN deploy/install-deps --build-only && rm -rf /var/lib/apt/lists/*
COPY . .
RUN meson setup /build --prefix=/usr/local -Dwerror=true \
 && ninja -C /build \
 && DESTDIR=/staging meson install -C /build --no-rebuild \
 && install -m 0755 deploy/k8s/entrypoint /staging/usr/local/bin/samsa-entrypoint \
 && install -m 0755 deploy/k8s/probe /staging/usr/local/bin/samsa-probe

FROM debian:bookworm-slim
# the runtime libraries of `meson.build`'s dependencies (ldd of samsa-coord, samsa-broker and
# the tools): libevent_core/extra/openssl/pthreads, openssl >= 3.0, libprotobuf-c, zookeeper_st,
# rdkafka
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libevent-core-2.1-7 libevent-extra-2.1-7 libevent-openssl-2.1-7 libevent-pthreads-2.1-7 \
      libssl3 libprotobuf-c1 libzookeeper-st2 librdkafka1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 samsa \
 && useradd --system --uid 10001 --gid samsa --home-dir /var/lib/samsa --shell /usr/sbin/nologin samsa \
 && mkdir -p /var/lib/samsa /run/samsa \
 && chown samsa:samsa /var/lib/samsa /run/samsa
COPY --from=build /staging/usr/local/ /usr/local/
USER 10001:10001
WORKDIR /var/lib/samsa
# client, peer, admin, metrics (coordinator); Kafka, control plane, HTTP (broker)
EXPOSE 2181 2888 8080 7000 9092 10092 7070
VOLUME ["/var/lib/samsa"]
ENTRYPOINT ["/usr/local/bin/samsa-entrypoint"]
CMD ["broker"]
