/*
 * Tiny launcher around librdkafka's in-process mock cluster, used by the
 * integration test harness (test/harness/kafka.ts) as a Kafka-protocol broker.
 *
 *   kafka-mock [--brokers N] [--topic name:partitions]...
 *
 * Prints one line "BOOTSTRAP host:port,..." on stdout, then serves line
 * commands read from stdin, each answered with one line ("OK" or "ERR ..."):
 *
 *   topic <name> <partitions>   create a topic
 *   down <brokerId>             disconnect a broker and refuse connections
 *   up <brokerId>               accept connections again
 *   advertise <brokerId> <host> <port>
 *                               announce another address for a broker in
 *                               metadata (a TLS/SASL gateway in front of it)
 *   quit                        destroy the cluster and exit 0 (so does EOF)
 *
 * stdin EOF means the parent is gone; PR_SET_PDEATHSIG covers a parent that
 * dies while the pipe is somehow kept open by someone else.
 */
#include <errno.h>
#include "rdkafka.h"      /* librdkafka sources: see kafka-build.ts */
#include "rdkafka_mock.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int parse_int(const char *s, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static rd_kafka_resp_err_t create_topic(rd_kafka_mock_cluster_t *mc, const char *name, long partitions) {
  return rd_kafka_mock_topic_create(mc, name, (int)partitions, 1);
}

/* "name:partitions" as given to --topic; the name itself may not contain ':'. */
static int create_topic_spec(rd_kafka_mock_cluster_t *mc, const char *spec) {
  const char *colon = strrchr(spec, ':');
  long partitions;
  if (colon == NULL || colon == spec || parse_int(colon + 1, 1, 100000, &partitions) != 0) {
    fprintf(stderr, "kafka-mock: bad --topic '%s' (want name:partitions)\n", spec);
    return -1;
  }
  char name[512];
  size_t len = (size_t)(colon - spec);
  if (len >= sizeof(name)) {
    fprintf(stderr, "kafka-mock: topic name too long\n");
    return -1;
  }
  memcpy(name, spec, len);
  name[len] = '\0';
  rd_kafka_resp_err_t err = create_topic(mc, name, partitions);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "kafka-mock: create topic %s: %s\n", name, rd_kafka_err2str(err));
    return -1;
  }
  return 0;
}

static void reply(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    printf("OK\n");
  else
    printf("ERR %s\n", rd_kafka_err2str(err));
  fflush(stdout);
}

static void handle_command(rd_kafka_mock_cluster_t *mc, char *line) {
  char *save = NULL;
  char *cmd = strtok_r(line, " \t\r\n", &save);
  char *a1 = strtok_r(NULL, " \t\r\n", &save);
  char *a2 = strtok_r(NULL, " \t\r\n", &save);
  char *a3 = strtok_r(NULL, " \t\r\n", &save);
  long n, port;
  if (cmd == NULL) return; /* blank line: no reply */
  if (strcmp(cmd, "topic") == 0 && a1 != NULL && a2 != NULL && parse_int(a2, 1, 100000, &n) == 0) {
    reply(create_topic(mc, a1, n));
  } else if (strcmp(cmd, "down") == 0 && a1 != NULL && parse_int(a1, -1, 1000000, &n) == 0) {
    reply(rd_kafka_mock_broker_set_down(mc, (int32_t)n));
  } else if (strcmp(cmd, "up") == 0 && a1 != NULL && parse_int(a1, -1, 1000000, &n) == 0) {
    reply(rd_kafka_mock_broker_set_up(mc, (int32_t)n));
  } else if (strcmp(cmd, "advertise") == 0 && a1 != NULL && a2 != NULL && a3 != NULL &&
             parse_int(a1, 1, 1000000, &n) == 0 && parse_int(a3, 1, 65535, &port) == 0) {
    rd_kafka_mock_broker_set_host_port(mc, (int32_t)n, a2, (int)port);
    reply(RD_KAFKA_RESP_ERR_NO_ERROR);
  } else {
    printf("ERR unknown or malformed command: %s\n", cmd);
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  long brokers = 1;
  char errstr[512];

  prctl(PR_SET_PDEATHSIG, SIGTERM);
  signal(SIGPIPE, SIG_IGN);

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
      if (parse_int(argv[++i], 1, 64, &brokers) != 0) {
        fprintf(stderr, "kafka-mock: bad --brokers '%s'\n", argv[i]);
        return 2;
      }
    } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
      i++; /* validated once the cluster exists */
    } else {
      fprintf(stderr, "usage: kafka-mock [--brokers N] [--topic name:partitions]...\n");
      return 2;
    }
  }

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* Keep the bookkeeping handle quiet and idle: it never produces anything. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "kafka-mock: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    fprintf(stderr, "kafka-mock: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
  if (mc == NULL) {
    fprintf(stderr, "kafka-mock: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  int status = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--topic") == 0 && create_topic_spec(mc, argv[++i]) != 0) {
      status = 2;
      break;
    } else if (strcmp(argv[i], "--brokers") == 0) {
      i++;
    }
  }

  if (status == 0) {
    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[1024];
    while (fgets(line, sizeof(line), stdin) != NULL) {
      if (strncmp(line, "quit", 4) == 0 && (line[4] == '\0' || line[4] == '\n' || line[4] == '\r')) break;
      handle_command(mc, line);
    }
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return status;
}
