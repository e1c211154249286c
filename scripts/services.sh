#!/usr/bin/env bash
# Starts PostgreSQL, Redis and RabbitMQ when they are not answering (commands from docs/toolchain.md).
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { for _ in $(seq 1 60); do up "$2" && return 0; sleep 1; done; echo "services: $1 did not come up on :$2" >&2; return 1; }

if ! up 5432; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  wait_for postgresql 5432
fi
if ! up 6379; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis 6379
fi
if ! up 5672; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached
  wait_for rabbitmq 5672
fi
exit 0
