# The seed pipeline's make targets, as thin wrappers over Docker Compose (docs/PIPELINE.md).
#
#   make up                 everything, in the background (builds the app image)
#   make up-logs            everything, following the logs
#   make down               stop; the volumes keep the data (make down ARGS=-v forgets everything)
#   make create-connector   (re)register both Debezium connectors and wait until they run
#   make generate Q=50      write Q packages (default 10), with reroutes and cancellations
#   make start-monitoring   follow the change and outbox topics: keys, headers, values
#
# COMPOSE picks the Compose command (default `docker compose`; e.g. COMPOSE=docker-compose).

COMPOSE ?= docker compose
Q ?= 10
ARGS ?=
TOPICS := dbserver1.public.package_status|outbox.event.package

.DEFAULT_GOAL := help
.PHONY: help up up-logs down create-connector generate start-monitoring

help:
	@sed -n '3,8s/^#   //p' $(firstword $(MAKEFILE_LIST))

up:
	$(COMPOSE) up -d --build

up-logs:
	$(COMPOSE) up --build

down:
	$(COMPOSE) down $(ARGS)

create-connector:
	$(COMPOSE) run --rm connector-init

generate:
	$(COMPOSE) run --rm generator node dist/load/generator/main.js -Q $(Q)

start-monitoring:
	$(COMPOSE) exec kafka /opt/kafka/bin/kafka-console-consumer.sh --bootstrap-server kafka:29092 \
	  --include '$(TOPICS)' --from-beginning \
	  --property print.key=true --property print.headers=true --property print.timestamp=true
