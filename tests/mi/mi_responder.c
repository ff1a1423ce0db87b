/* SPDX-License-Identifier: MIT */
/*
 * mi_responder: a fake NVMe-MI endpoint network for tests. The mctp_interpose
 * shim connects one SOCK_SEQPACKET connection per AF_MCTP socket of the
 * process under test; each datagram is addressed to (net, eid), and each
 * configured endpoint answers with its own simulated subsystem. Behaviours
 * (silence, delays, More Processing Required, corruption) come from the
 * configuration and the control socket (mi_responder_ctl.c).
 *
 *   mi_responder --socket PATH --control PATH --config FILE.json [--verbose]
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <linux/mctp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mi_responder.h"

#define LISTEN_BACKLOG 64
#define MPR_FOREVER_SPACING_MS 100u
#define SHORT_RESPONSE_LEN 6 /* type byte and five more: below any header */
#define SIM_ERR_LEN 256
#define ADMIN_CDW10_OFFSET 44u /* in a tunneled Admin command message, type byte first */

/* One seqpacket connection: one AF_MCTP socket of the process under test. */
struct conn {
	uv_poll_t poll;
	int fd;
	struct mr_server *srv;
	unsigned jobs;	  /* jobs that will still send on it */
	bool closed;	  /* the peer is gone or the server stops */
	bool poll_closed; /* the poll handle's close callback ran */
};

/* One request from receipt to its last response. */
struct job {
	uv_work_t work;
	uv_timer_t timer;
	struct conn *conn;
	struct mr_endpoint *ep;
	struct job *prev, *next; /* the server's list, to stop timers at exit */
	bool in_work;
	int64_t mpr_left;
	uint8_t wire[MR_WIRE_HDR_LEN];
	size_t req_len, resp_len;
	uint8_t req[MR_MSG_MAX];
	uint8_t resp[MR_MSG_MAX];
};

static struct job *all_jobs;

#define LOG(srv, ...)                                                                              \
	do {                                                                                       \
		if ((srv)->verbose)                                                                \
			fprintf(stderr, "mi_responder: " __VA_ARGS__);                             \
	} while (0)

struct mr_endpoint *mr_find_endpoint(struct mr_server *srv, uint32_t net, uint8_t eid)
{
	for (size_t i = 0; i < srv->nr_eps; i++) {
		if (srv->eps[i].net == net && srv->eps[i].eid == eid)
			return &srv->eps[i];
	}
	return NULL;
}

static void conn_maybe_free(struct conn *c)
{
	if (c->poll_closed && !c->jobs)
		free(c);
}

static void conn_on_close(uv_handle_t *h)
{
	struct conn *c = h->data;

	close(c->fd);
	c->poll_closed = true;
	conn_maybe_free(c);
}

static void conn_close(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	uv_poll_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, conn_on_close);
}

static void job_on_close(uv_handle_t *h)
{
	struct job *j = h->data;
	struct conn *c = j->conn;

	if (j->prev)
		j->prev->next = j->next;
	else
		all_jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	c->jobs--;
	conn_maybe_free(c);
	free(j);
}

static void job_end(struct job *j)
{
	uv_close((uv_handle_t *)&j->timer, job_on_close);
}

/* Sends @len bytes of the message in @msg (type byte first) to the peer;
 * the wire header carries the type, so the body starts at msg[1]. */
static void conn_send(struct conn *c, const uint8_t *wire, const uint8_t *msg, size_t len)
{
	struct iovec iov[2] = {{.iov_base = (void *)wire, .iov_len = MR_WIRE_HDR_LEN},
			       {.iov_base = (void *)(msg + 1), .iov_len = len - 1}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};

	if (sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		LOG(c->srv, "send failed: %s\n", strerror(errno));
}

/* Consumes one unit of a counted behaviour; -1 is forever. Returns whether
 * it applies to this response. */
static bool take(int64_t *count)
{
	if (!*count)
		return false;
	if (*count > 0)
		(*count)--;
	return true;
}

static void send_final(struct job *j)
{
	struct mr_behaviour *b = &j->ep->beh;
	size_t len = j->resp_len;

	if (take(&b->short_count))
		len = SHORT_RESPONSE_LEN;
	else if (take(&b->corrupt_mic))
		j->resp[len - 1] ^= 0xa5;
	conn_send(j->conn, j->wire, j->resp, len);
	j->ep->stats.responses++;
}

static void on_timer(uv_timer_t *t);

/* Sends what is due now and arms the timer for the rest. */
static void job_step(struct job *j)
{
	const struct mr_behaviour *b = &j->ep->beh;
	uint8_t mpr[16];
	uint64_t spacing;

	while (!j->conn->closed && j->mpr_left) {
		conn_send(j->conn, j->wire, mpr, mr_mpr_response(j->req, b->mprt, mpr));
		j->ep->stats.mpr_sent++;
		if (j->mpr_left > 0)
			j->mpr_left--;
		spacing = b->delay_ms ?: (j->mpr_left < 0 ? MPR_FOREVER_SPACING_MS : 0);
		if (spacing) {
			uv_timer_start(&j->timer, on_timer, spacing, 0);
			return;
		}
	}
	if (!j->conn->closed)
		send_final(j);
	job_end(j);
}

static void on_timer(uv_timer_t *t)
{
	job_step(t->data);
}

/* The response is ready: MPR responses first, each after the delay. */
static void job_respond(struct job *j)
{
	j->mpr_left = j->ep->beh.mpr;
	if (j->ep->beh.delay_ms && !j->conn->closed)
		uv_timer_start(&j->timer, on_timer, j->ep->beh.delay_ms, 0);
	else
		job_step(j);
}

static void work_execute(uv_work_t *w)
{
	struct job *j = w->data;

	j->resp_len = mr_execute(j->ep, j->req, j->req_len, j->resp);
}

static void work_done(uv_work_t *w, int status)
{
	struct job *j = w->data;

	j->in_work = false;
	if (status || j->conn->closed)
		job_end(j);
	else
		job_respond(j);
}

static void count_request(struct mr_endpoint *ep, const uint8_t *req, size_t len)
{
	unsigned nmimt = len > 1 ? (req[1] >> 3) & 0xfu : 0xfu;
	uint8_t opcode = len > 4 ? req[4] : 0;

	ep->stats.requests++;
	if (nmimt == 1) {
		ep->stats.mi++;
		ep->stats.mi_opcodes[opcode]++;
	} else if (nmimt == 2) {
		ep->stats.admin++;
		ep->stats.admin_opcodes[opcode]++;
		/* Get Log Page: the LID is CDW10 bits 7:0, at byte 44 of the message. */
		if (opcode == 0x02 && len > ADMIN_CDW10_OFFSET)
			ep->stats.log_pages[req[ADMIN_CDW10_OFFSET]]++;
	} else {
		ep->stats.other++;
	}
}

static void log_request(struct mr_server *srv, const struct job *j)
{
	uint32_t doff = 0, dlen = 0;

	if (j->req_len >= 36) {
		memcpy(&doff, j->req + 28, 4);
		memcpy(&dlen, j->req + 32, 4);
	}
	LOG(srv, "eid %u tag %u: %zu bytes, NMP %#x, opcode %#x, admin flags %#x doff %u dlen %u\n",
	    j->ep->eid, j->wire[6] & MCTP_TAG_MASK, j->req_len, j->req[1],
	    j->req_len > 4 ? j->req[4] : 0, j->req_len > 5 ? j->req[5] : 0, le32toh(doff),
	    le32toh(dlen));
}

/* Decides what happens to a received request. Returns false when the job is
 * dropped (the caller frees it). */
static bool job_dispatch(struct job *j)
{
	struct mr_server *srv = j->conn->srv;
	struct mr_behaviour *b;

	if (!(j->wire[6] & MCTP_TAG_OWNER)) {
		LOG(srv, "dropping a datagram that is not a request\n");
		return false;
	}
	count_request(j->ep, j->req, j->req_len);
	log_request(srv, j);
	b = &j->ep->beh;
	if (b->silent || mr_check_request(j->req, j->req_len)) {
		LOG(srv, "eid %u: dropping a request (%s)\n", j->ep->eid,
		    b->silent ? "silent" : "not a valid NVMe-MI request");
		j->ep->stats.dropped++;
		return false;
	}
	/* The response goes back from the endpoint with the tag, TO clear. */
	j->wire[5] = MR_MCTP_TYPE_NVME_MI;
	j->wire[6] &= MCTP_TAG_MASK;
	if (take(&b->mi_status_count)) {
		j->resp_len = mr_error_response(j->req, b->mi_status, 0, j->resp);
		job_respond(j);
		return true;
	}
	j->in_work = true;
	uv_queue_work(srv->loop, &j->work, work_execute, work_done);
	return true;
}

static struct job *job_new(struct conn *c)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->conn = c;
	j->work.data = j;
	j->timer.data = j;
	uv_timer_init(c->srv->loop, &j->timer);
	j->next = all_jobs;
	if (all_jobs)
		all_jobs->prev = j;
	all_jobs = j;
	c->jobs++;
	return j;
}

/* Receives one datagram into a new job. Returns 1 when one was read, 0 when
 * the queue is empty, -1 when the connection is finished. */
static int conn_receive(struct conn *c)
{
	struct job *j = job_new(c);
	struct iovec iov[2];
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	uint32_t net_le;
	ssize_t rc;

	if (!j)
		return -1;
	iov[0] = (struct iovec){.iov_base = j->wire, .iov_len = MR_WIRE_HDR_LEN};
	iov[1] = (struct iovec){.iov_base = j->req + 1, .iov_len = MR_MSG_MAX - 1};
	rc = recvmsg(c->fd, &m, MSG_DONTWAIT);
	if (rc <= MR_WIRE_HDR_LEN || (m.msg_flags & MSG_TRUNC)) {
		job_end(j);
		if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return rc == 0 || rc < 0 ? -1 : 1;
	}
	memcpy(&net_le, j->wire, sizeof(net_le));
	j->ep = mr_find_endpoint(c->srv, le32toh(net_le), j->wire[4]);
	j->req[0] = j->wire[5];
	j->req_len = (size_t)rc - MR_WIRE_HDR_LEN + 1;
	if (!j->ep)
		LOG(c->srv, "no endpoint at net %u eid %u\n", le32toh(net_le), j->wire[4]);
	if (!j->ep || !job_dispatch(j))
		job_end(j);
	return 1;
}

static void conn_on_readable(uv_poll_t *h, int status, int events)
{
	struct conn *c = h->data;
	int rc;

	if (status < 0) {
		conn_close(c);
		return;
	}
	while ((rc = conn_receive(c)) > 0)
		;
	if (rc < 0)
		conn_close(c);
}

static void on_accept(uv_poll_t *h, int status, int events)
{
	struct mr_server *srv = h->data;
	struct conn *c;
	int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c || uv_poll_init(srv->loop, &c->poll, fd)) {
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->srv = srv;
	c->poll.data = c;
	uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT, conn_on_readable);
}

/* Binds the seqpacket socket the shim connects to. Returns 0 or -errno. */
static int listen_start(struct mr_server *srv, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, LISTEN_BACKLOG)) {
		int err = -errno;

		close(fd);
		return err;
	}
	srv->listen_fd = fd;
	srv->listen_poll.data = srv;
	uv_poll_init(srv->loop, &srv->listen_poll, fd);
	return uv_poll_start(&srv->listen_poll, UV_READABLE, on_accept);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	struct mr_server *srv = arg;

	if (uv_is_closing(h) || h == (uv_handle_t *)&srv->listen_poll)
		return;
	if (h->type == UV_POLL && h->data != srv)
		conn_close(h->data);
	else if (h->type == UV_NAMED_PIPE)
		mr_control_close(h, srv);
	else if (h->type != UV_TIMER)
		uv_close(h, NULL);
}

/* Stops everything on SIGINT/SIGTERM; jobs in the thread pool finish first,
 * then the loop runs out of handles. */
static void on_signal(uv_signal_t *s, int signum)
{
	struct mr_server *srv = s->data;

	uv_poll_stop(&srv->listen_poll);
	uv_close((uv_handle_t *)&srv->listen_poll, NULL);
	close(srv->listen_fd);
	uv_walk(srv->loop, close_walk, srv);
	for (struct job *j = all_jobs; j; j = j->next) {
		if (!j->in_work && !uv_is_closing((uv_handle_t *)&j->timer))
			job_end(j);
	}
}

/* Builds one endpoint from its configuration object (borrowed). */
static int endpoint_init(struct mr_endpoint *ep, const json_t *obj, size_t index, char *err,
			 size_t err_len)
{
	json_int_t net = -1, eid = -1;
	json_t *sim = NULL, *beh = NULL;
	json_error_t jerr;
	uint16_t ccs = 0;
	int rc;

	if (json_unpack_ex((json_t *)obj, &jerr, JSON_STRICT, "{s:I, s:I, s?o, s?o}", "net", &net,
			   "eid", &eid, "sim", &sim, "behaviour", &beh) ||
	    net < 0 || net > UINT32_MAX || eid < 0 || eid > 255) {
		snprintf(err, err_len, "endpoints[%zu]: %s", index,
			 net < 0 || eid < 0 ? jerr.text : "net or eid out of range");
		return -EINVAL;
	}
	ep->net = (uint32_t)net;
	ep->eid = (uint8_t)eid;
	pthread_mutex_init(&ep->lock, NULL);
	if (json_is_string(sim))
		rc = nr_sim_load_file(json_string_value(sim), &ep->sim, err, err_len);
	else
		rc = sim ? nr_sim_new_from_json(sim, &ep->sim, err, err_len)
			 : nr_sim_new_default(&ep->sim);
	if (rc)
		return rc;
	mr_mi_init(ep);
	rc = beh ? mr_behaviour_parse(beh, &ep->beh, &ccs, err, err_len) : 0;
	mr_mi_raise_ccs(ep, ccs);
	return rc;
}

static int load_config(struct mr_server *srv, const char *path, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *eps;
	int rc = 0;

	eps = json_object_get(root, "endpoints");
	if (!json_is_array(eps) || !json_array_size(eps)) {
		snprintf(err, err_len, "%s: %s", path,
			 root ? "needs a non-empty \"endpoints\" array" : jerr.text);
		json_decref(root);
		return -EINVAL;
	}
	srv->eps = calloc(json_array_size(eps), sizeof(*srv->eps));
	for (size_t i = 0; srv->eps && !rc && i < json_array_size(eps); i++) {
		rc = endpoint_init(&srv->eps[i], json_array_get(eps, i), i, err, err_len);
		srv->nr_eps = i + 1;
	}
	json_decref(root);
	return srv->eps ? rc : -ENOMEM;
}

static void free_endpoints(struct mr_server *srv)
{
	for (size_t i = 0; i < srv->nr_eps; i++) {
		nr_sim_free(srv->eps[i].sim);
		pthread_mutex_destroy(&srv->eps[i].lock);
	}
	free(srv->eps);
}

static int parse_args(int argc, char **argv, const char **sock, const char **ctl, const char **cfg,
		      bool *verbose)
{
	static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
					     {"control", required_argument, NULL, 'c'},
					     {"config", required_argument, NULL, 'f'},
					     {"verbose", no_argument, NULL, 'v'},
					     {NULL, 0, NULL, 0}};
	int opt;

	while ((opt = getopt_long(argc, argv, "s:c:f:v", opts, NULL)) != -1) {
		if (opt == 's')
			*sock = optarg;
		else if (opt == 'c')
			*ctl = optarg;
		else if (opt == 'f')
			*cfg = optarg;
		else if (opt == 'v')
			*verbose = true;
		else
			return -EINVAL;
	}
	return *sock && *ctl && *cfg ? 0 : -EINVAL;
}

static int serve(struct mr_server *srv, const char *sock, const char *ctl)
{
	int rc = listen_start(srv, sock);

	rc = rc ? rc : mr_control_start(srv, ctl);
	if (rc)
		return rc;
	uv_signal_init(srv->loop, &srv->sigint);
	uv_signal_init(srv->loop, &srv->sigterm);
	srv->sigint.data = srv->sigterm.data = srv;
	uv_signal_start(&srv->sigint, on_signal, SIGINT);
	uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
	LOG(srv, "listening on %s, control %s\n", sock, ctl);
	return uv_run(srv->loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *ctl = NULL, *cfg = NULL;
	struct mr_server srv = {.loop = uv_default_loop(), .listen_fd = -1};
	char err[SIM_ERR_LEN] = "";
	int rc;

	if (parse_args(argc, argv, &sock, &ctl, &cfg, &srv.verbose)) {
		fprintf(stderr,
			"usage: %s --socket PATH --control PATH --config FILE.json "
			"[--verbose]\n",
			argv[0]);
		return 2;
	}
	rc = load_config(&srv, cfg, err, sizeof(err));
	if (!rc)
		rc = serve(&srv, sock, ctl);
	if (rc)
		fprintf(stderr, "mi_responder: %s\n", *err ? err : strerror(-rc));
	uv_loop_close(srv.loop);
	free_endpoints(&srv);
	unlink(sock);
	unlink(ctl);
	return rc ? 1 : 0;
}
