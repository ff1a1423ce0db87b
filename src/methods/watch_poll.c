/* SPDX-License-Identifier: MIT */
/*
 * nvme.watch's pollers: one per controller, shared by every watcher of it,
 * driven by one timer per service (the hub). A poll is the daemon's own call
 * (nr_call_internal) queued on the controller's FIFO, in line with clients'
 * commands, never beside them: the SMART / Health log, the Firmware Slot log
 * and, every WATCH_THRESH_EVERY polls, the composite temperature thresholds.
 * A read the controller refused with an error status is not sent again by
 * that poller, so polling does not keep filling the drive's Error log.
 * Where the backend has a cheap subsystem health poll (NVMe-MI's Health
 * Status Poll), each poll sends it first and reads the rest only on the
 * first poll and when its answer changed.
 * Controllers listed by a rescan are picked up for watchers of every
 * controller; removed ones (hot removal, -ENODEV, or unlisted) are reported
 * once. Loop thread, except the work function.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libnvme.h>

#include "methods/job.h"
#include "methods/watch.h"
#include "nvme/nvme_cmd_admin.h"
#include "rpc/rpc_error.h"

#define WATCH_THRESH_EVERY 16u /* polls between two reads of the thresholds */
#define NSEC_PER_MSEC 1000000ull

struct watch_poller {
	struct watch_hub *hub;
	struct watch_poller *next;
	char name[NR_NAME_MAX];
	struct nr_ctrl *ctrl; /* referenced; the entry listed last */
	bool in_flight;
	bool due;			 /* marked to be polled by hub_poll_marked */
	bool polled;			 /* the first poll ended: state is the controller's */
	bool gone;			 /* reported removed */
	bool no_smart, no_fw, no_thresh; /* refused with an error status once */
	bool no_health;			 /* the health poll was refused: read every time */
	unsigned reads;			 /* polls that read the logs (not cut short) */
	uint64_t next_due_ns;
	struct watch_state state;
};

struct watch_hub {
	struct nr_service *svc;
	struct watch_hub *next;
	struct watcher *watchers;
	struct watch_poller *pollers;
	uv_timer_t timer;
	bool timer_open;
	bool closing; /* its last watcher left: a new watcher gets a new hub */
	uint64_t tick_ns;
};

/* The hubs, one per service that has watchers (one, in the daemon). */
static struct watch_hub *hubs;

/* One poll: its commands' buffers and outcomes, the internal call's ctx. */
struct poll_job {
	struct watch_poller *poller;
	bool want_health;  /* send the health poll first */
	bool health_known; /* last_health holds the previous answer */
	bool unchanged;	   /* it answered as last time: nothing else was read */
	struct nr_subsys_health last_health, health;
	bool want_smart, want_fw, want_thresh;
	uint16_t smart_status, fw_status, thresh_status;
	struct nvme_smart_log smart;
	struct nvme_firmware_slot fw;
	uint32_t over, under;
};

static void hub_tick(uv_timer_t *timer);

bool watcher_wants(const struct watcher *w, const char *name)
{
	if (nr_call_ended(w->call))
		return false;
	if (!w->devices)
		return true;
	for (size_t i = 0; i < w->device_count; i++) {
		if (strcmp(w->devices[i], name) == 0)
			return true;
	}
	return false;
}

/* Whether some live watcher of @hub watches the controller named @name. */
static bool hub_wants(const struct watch_hub *hub, const char *name)
{
	for (struct watcher *w = hub->watchers; w; w = w->next) {
		if (watcher_wants(w, name))
			return true;
	}
	return false;
}

static struct watch_poller *poller_find(struct watch_hub *hub, const char *name)
{
	struct watch_poller *p;

	for (p = hub->pollers; p && strcmp(p->name, name) != 0; p = p->next)
		;
	return p;
}

/* The shortest interval among @p's watchers; 0 when nobody watches it. */
static uint64_t poller_interval(const struct watch_poller *p)
{
	uint64_t interval = 0;

	for (struct watcher *w = p->hub->watchers; w; w = w->next) {
		if (watcher_wants(w, p->name) && (!interval || w->interval_ns < interval))
			interval = w->interval_ns;
	}
	return interval;
}

/* The listed entry for @p's controller now (a refresh may have replaced it). */
static void poller_follow(struct watch_poller *p)
{
	struct nr_ctrl *c = p->ctrl;

	while (c->successor)
		c = c->successor;
	if (c == p->ctrl)
		return;
	nr_ctrl_ref(c);
	nr_ctrl_unref(p->ctrl);
	p->ctrl = c;
}

/* ---- one poll ---------------------------------------------------------- */

/* Worker thread: sends one command through the backend (the call's ctx is
 * a poll_job, not an nr_job: nr_job_send is not for it). Returns 0 (its
 * status in *@status) or -errno when it could not be delivered. */
static int poll_send(struct nr_call *call, struct nr_cmd *cmd, uint16_t *status)
{
	const struct nr_ctrl *ctrl = call->dev.ctrl;
	int rc = ctrl->ops->submit(ctrl->backend_ctrl, cmd);

	if (rc < 0)
		return rc;
	*status = cmd->status ? cmd->status : cmd->mi_status ? 0xffff : 0;
	return 0;
}

static bool health_same(const struct nr_subsys_health *a, const struct nr_subsys_health *b)
{
	return a->nss == b->nss && a->sw == b->sw && a->ctemp == b->ctemp && a->pdlu == b->pdlu &&
	       a->ccs == b->ccs;
}

/* Worker thread: the subsystem health poll. When it answers as the last one
 * did, the poll reads nothing else (unchanged). A refusal (MI status) leaves
 * the poll to read everything, as without one. Returns 0 or -errno. */
static int poll_health(struct nr_call *call, struct poll_job *job)
{
	const struct nr_ctrl *ctrl = call->dev.ctrl;
	int rc = ctrl->ops->health_poll(ctrl->backend_ctrl, &job->health);

	if (rc == 0 && !job->health.mi_status)
		job->unchanged = job->health_known && health_same(&job->health, &job->last_health);
	return rc;
}

static int poll_thresh(struct nr_call *call, struct poll_job *job)
{
	struct nr_cmd cmd = {0};
	int rc;

	/* TMPSEL 0 (composite); THSEL 0 over, 1 under (cdw11 bits 21:20). */
	nr_cmd_get_features(&cmd, NVME_FEAT_FID_TEMP_THRESH, 0, 0, 0, NULL, 0);
	rc = poll_send(call, &cmd, &job->thresh_status);
	if (rc || job->thresh_status)
		return rc;
	job->over = cmd.result & 0xffff;
	cmd = (struct nr_cmd){0};
	nr_cmd_get_features(&cmd, NVME_FEAT_FID_TEMP_THRESH, 0, 0, 1u << 20, NULL, 0);
	rc = poll_send(call, &cmd, &job->thresh_status);
	job->under = cmd.result & 0xffff;
	return rc;
}

/* Worker thread, in the controller's FIFO. */
static int poll_work(struct nr_call *call)
{
	struct poll_job *job = call->ctx;
	struct nr_log_args smart = {.lid = NR_LID_SMART, .rae = true, .nsid = NVME_NSID_ALL};
	struct nr_log_args fw = {.lid = NR_LID_FW_SLOT, .rae = true};
	struct nr_cmd cmd = {0};
	int rc = job->want_health ? poll_health(call, job) : 0;

	if (rc || job->unchanged)
		return rc;
	if (job->want_smart) {
		nr_cmd_get_log_page(&cmd, &smart, &job->smart, sizeof(job->smart));
		rc = poll_send(call, &cmd, &job->smart_status);
	}
	if (rc == 0 && job->want_fw) {
		cmd = (struct nr_cmd){0};
		nr_cmd_get_log_page(&cmd, &fw, &job->fw, sizeof(job->fw));
		rc = poll_send(call, &cmd, &job->fw_status);
	}
	if (rc == 0 && job->want_thresh)
		rc = poll_thresh(call, job);
	return rc;
}

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Fills @st from the job's buffers; a piece refused with an error status
 * marks the poller never to read it again. */
static void poll_decode(struct watch_poller *p, const struct poll_job *job, struct watch_state *st)
{
	const struct nvme_smart_log *s = &job->smart;
	uint8_t slot;

	p->no_health |= job->want_health && job->health.mi_status;
	if ((st->health_ok = job->want_health && !job->health.mi_status))
		st->health = job->health;
	if (job->unchanged)
		return; /* the rest is carried over from the last poll */
	p->reads++;
	p->no_smart |= job->want_smart && job->smart_status;
	p->no_fw |= job->want_fw && job->fw_status;
	p->no_thresh |= job->want_thresh && job->thresh_status;
	if ((st->smart_ok = job->want_smart && !job->smart_status)) {
		st->critical_warning = s->critical_warning;
		st->temperature = (uint16_t)(s->temperature[0] | s->temperature[1] << 8);
		st->avail_spare = s->avail_spare;
		st->spare_thresh = s->spare_thresh;
		st->percent_used = s->percent_used;
		st->media_errors = le64_at(s->media_errors);
	}
	if ((st->fw_ok = job->want_fw && !job->fw_status)) {
		slot = job->fw.afi & 0x7;
		st->fw_slot = slot;
		if (slot >= 1 && slot <= 7)
			memcpy(st->fw_rev, job->fw.frs[slot - 1], 8);
		for (int i = 7; i >= 0 && (st->fw_rev[i] == ' ' || !st->fw_rev[i]); i--)
			st->fw_rev[i] = '\0';
	}
	if ((st->thresh_ok = job->want_thresh && !job->thresh_status)) {
		st->over_temp = (uint16_t)job->over;
		st->under_temp = (uint16_t)job->under;
	}
}

/* Namespaces as the topology lists them behind @ctrl now. */
static void poll_namespaces(const struct nr_ctrl *ctrl, struct watch_state *st)
{
	st->ns = calloc(ctrl->ns_count ? ctrl->ns_count : 1, sizeof(*st->ns));
	if (!st->ns)
		return;
	for (size_t i = 0; i < ctrl->ns_count; i++)
		st->ns[i] = (struct watch_ns){ctrl->namespaces[i]->nsid, ctrl->namespaces[i]->nsze,
					      ctrl->namespaces[i]->ncap};
	st->ns_count = ctrl->ns_count;
}

/* Pieces not read this time keep their last value: the thresholds between
 * their reads, and everything but the health after a health poll that
 * answered as the last one (@unchanged). */
static void state_carry(const struct watch_state *old, struct watch_state *st, bool unchanged)
{
	if (unchanged) {
		struct watch_state keep = *old;
		keep.health_ok = st->health_ok;
		keep.health = st->health;
		keep.error = 0;
		keep.ns = st->ns;
		keep.ns_count = st->ns_count;
		*st = keep;
		return;
	}
	if (!st->thresh_ok && old->thresh_ok) {
		st->thresh_ok = true;
		st->over_temp = old->over_temp;
		st->under_temp = old->under_temp;
	}
}

/* Every live watcher's call, referenced, so that delivering to one (whose
 * peer may go away) frees none of them under us. Returns the count. */
static size_t hub_hold(struct watch_hub *hub, struct nr_call ***out)
{
	size_t n = 0, i = 0;
	struct watcher *w;

	for (w = hub->watchers; w; w = w->next)
		n++;
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return 0;
	for (w = hub->watchers; w; w = w->next) {
		nr_call_ref(w->call);
		(*out)[i++] = w->call;
	}
	return n;
}

static void hub_maybe_free(struct watch_hub *hub);

/* Delivers @events (borrowed) of @p's controller to its watchers, then
 * offers each its snapshot. May free @p and the hub (the last reference of
 * a watcher's call). */
static void poller_publish(struct watch_poller *p, json_t *events)
{
	struct watch_hub *hub = p->hub;
	struct nr_call **calls;
	size_t n = hub_hold(hub, &calls);

	for (size_t i = 0; i < n; i++) {
		struct watcher *w = calls[i]->ctx;
		if (!watcher_wants(w, p->name))
			continue;
		if (w->snapshot_sent && json_array_size(events))
			watcher_deliver(w, events);
		else if (!w->snapshot_sent)
			watcher_try_snapshot(w);
	}
	for (size_t i = 0; i < n; i++)
		nr_call_unref(calls[i]);
	free(calls);
	hub_maybe_free(hub);
}

/* The controller went away: reported once, no more polls. */
static void poller_gone(struct watch_poller *p, json_t *time, json_t *events)
{
	if (p->gone)
		return;
	p->gone = true;
	p->polled = true;
	if (!p->state.error)
		p->state.error = -ENODEV;
	json_array_append_new(events, watch_event_controller(p->name, false, time));
}

static void poll_done(struct nr_call *call, int rc)
{
	struct poll_job *job = call->ctx;
	struct watch_poller *p = job->poller;
	struct watch_state st = {0};
	json_t *events = json_array(), *time = watch_time_now();

	p->in_flight = false;
	poller_follow(p);
	if (rc == -ENODEV)
		p->ctrl->gone = true; /* as a job's -ENODEV does: resolved no more */
	if (rc == -ENODEV || nr_ctrl_removed(p->ctrl)) {
		poller_gone(p, time, events);
	} else if (rc) {
		p->state.error = rc; /* a timeout or transport error: keep the rest */
		p->polled = true;
	} else {
		poll_decode(p, job, &st);
		poll_namespaces(p->ctrl, &st);
		state_carry(&p->state, &st, job->unchanged);
		if (p->polled && !p->gone)
			watch_state_diff(&p->state, &st, p->name, time, events);
		watch_state_move(&p->state, &st);
		p->polled = true;
	}
	json_decref(time);
	poller_publish(p, events);
	json_decref(events);
}

/* Queues one poll of @p on its controller's FIFO. */
static void poller_submit(struct watch_poller *p)
{
	struct poll_job *job = calloc(1, sizeof(*job));
	struct nr_call *child = job ? nr_call_internal(p->hub->svc, NULL) : NULL;
	int rc;

	if (!child) {
		free(job);
		return;
	}
	job->poller = p;
	job->want_health = p->ctrl->ops->health_poll && !p->no_health;
	job->health_known = p->polled && p->state.health_ok && !p->state.error;
	job->last_health = p->state.health;
	job->want_smart = !p->no_smart;
	job->want_fw = !p->no_fw;
	job->want_thresh = !p->no_thresh && p->reads % WATCH_THRESH_EVERY == 0;
	child->ctx = job;
	child->ctx_free = free;
	child->dev.ctrl = p->ctrl;
	nr_ctrl_ref(p->ctrl);
	/* Set first: on a backend that runs inline, poll_done has run (and may
	 * have freed @p) by the time nr_exec_submit returns 0. */
	p->in_flight = true;
	rc = nr_exec_submit(child, p->ctrl, poll_work, poll_done);
	if (rc != 0)
		p->in_flight = false;
	nr_call_unref(child); /* the FIFO holds it while it runs */
	if (rc == -ENODEV) {
		json_t *events = json_array(), *time = watch_time_now();
		poller_gone(p, time, events);
		json_decref(time);
		poller_publish(p, events);
		json_decref(events);
	}
}

/* ---- the hub ----------------------------------------------------------- */

static struct watch_poller *poller_new(struct watch_hub *hub, struct nr_ctrl *ctrl)
{
	struct watch_poller *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->hub = hub;
	snprintf(p->name, sizeof(p->name), "%s", ctrl->name);
	p->ctrl = ctrl;
	nr_ctrl_ref(ctrl);
	p->next = hub->pollers;
	hub->pollers = p;
	return p;
}

static void poller_free(struct watch_poller *p)
{
	nr_ctrl_unref(p->ctrl);
	watch_state_clear(&p->state);
	free(p);
}

static void timer_closed(uv_handle_t *handle)
{
	struct watch_hub *hub = handle->data;

	hub->timer_open = false;
	hub_maybe_free(hub);
}

/* Drops pollers nobody watches (not while a poll runs), and the hub once it
 * has no watcher, no poller and its timer is closed. */
static void hub_maybe_free(struct watch_hub *hub)
{
	struct watch_poller **link = &hub->pollers, *p;
	struct watch_hub **h;

	while ((p = *link) != NULL) {
		if (!p->in_flight && !poller_interval(p)) {
			*link = p->next;
			poller_free(p);
		} else {
			link = &p->next;
		}
	}
	if (hub->watchers)
		return;
	hub->closing = true;
	if (hub->timer_open) {
		if (!uv_is_closing((uv_handle_t *)&hub->timer))
			uv_close((uv_handle_t *)&hub->timer, timer_closed);
		return;
	}
	if (hub->pollers)
		return;
	for (h = &hubs; *h != hub; h = &(*h)->next)
		;
	*h = hub->next;
	free(hub);
}

static struct watch_hub *hub_get(struct nr_service *svc)
{
	struct watch_hub *hub;

	/* A closing hub lives on only until its polls in flight end. */
	for (hub = hubs; hub && (hub->svc != svc || hub->closing); hub = hub->next)
		;
	if (hub || !(hub = calloc(1, sizeof(*hub))))
		return hub;
	hub->svc = svc;
	uv_timer_init(svc->loop, &hub->timer);
	hub->timer.data = hub;
	hub->timer_open = true;
	hub->next = hubs;
	hubs = hub;
	return hub;
}

/* Creates pollers for the listed controllers some watcher watches that have
 * none, or revives a removed one listed again, and tells the watchers that
 * have had their snapshot (a new one learns of it from its snapshot). */
static void hub_adopt(struct watch_hub *hub)
{
	struct nr_topology *topo = hub->svc->topology;
	json_t *events = json_array(), *time = watch_time_now();

	for (size_t i = 0; i < nr_topology_ctrl_count(topo); i++) {
		struct nr_ctrl *c = nr_topology_ctrl_at(topo, i);
		struct watch_poller *p;
		if (c->gone || c->hidden || !hub_wants(hub, c->name))
			continue;
		p = poller_find(hub, c->name);
		if (p && (!p->gone || p->ctrl == c))
			continue;
		if (!p && !(p = poller_new(hub, c)))
			continue;
		if (p->gone) {
			nr_ctrl_ref(c);
			nr_ctrl_unref(p->ctrl);
			p->ctrl = c;
			p->gone = p->polled = false;
			watch_state_clear(&p->state);
		}
		json_array_append_new(events, watch_event_controller(p->name, true, time));
	}
	json_decref(time);
	for (size_t i = 0; i < json_array_size(events); i++) {
		json_t *one = json_pack("[O]", json_array_get(events, i));
		struct watch_poller *p = poller_find(
		    hub, json_string_value(json_object_get(json_array_get(events, i), "device")));
		if (p && one)
			poller_publish(p, one);
		json_decref(one);
	}
	json_decref(events);
}

/* Polls the pollers marked due, one at a time from the list's head: a poll
 * that finds its controller removed publishes at once, and publishing may
 * drop other pollers. */
static void hub_poll_marked(struct watch_hub *hub)
{
	struct watch_poller *p;

	for (;;) {
		for (p = hub->pollers; p && !p->due; p = p->next)
			;
		if (!p)
			return;
		p->due = false;
		poller_follow(p);
		poller_submit(p);
	}
}

/*
 * Ends the watchers whose peer ended its input: a watch has no end of its
 * own, and a peer that closed the connection is only noticed by writing to
 * it, which a quiet drive never makes the daemon do. One at a time from the
 * head: ending one may free it.
 */
static void hub_end_deaf(struct watch_hub *hub)
{
	struct watcher *w;

	for (;;) {
		for (w = hub->watchers; w; w = w->next) {
			if (!nr_call_ended(w->call) && w->call->session &&
			    w->call->session->input_ended)
				break;
		}
		if (!w)
			return;
		nr_call_fail(w->call, NR_E_CANCELLED,
			     "the client ended its input: a watch ends with it");
	}
}

static void hub_tick(uv_timer_t *timer)
{
	struct watch_hub *hub = timer->data;
	uint64_t now = nr_exec_now_ns();

	if (hub->svc->shutting_down)
		return;
	hub_end_deaf(hub);
	hub_adopt(hub);
	/* The hub outlives this callback: it is freed only once its timer closed. */
	for (struct watch_poller *p = hub->pollers; p; p = p->next) {
		uint64_t interval = poller_interval(p);
		if (!interval || p->in_flight || p->gone || now < p->next_due_ns)
			continue;
		p->next_due_ns = now + interval;
		p->due = true;
	}
	hub_poll_marked(hub);
}

/* Restarts the timer at the shortest interval any watcher asked for. */
static void hub_schedule(struct watch_hub *hub)
{
	uint64_t tick = 0;

	for (struct watcher *w = hub->watchers; w; w = w->next) {
		if (!tick || w->interval_ns < tick)
			tick = w->interval_ns;
	}
	if (!tick || tick == hub->tick_ns)
		return;
	hub->tick_ns = tick;
	uv_timer_start(&hub->timer, hub_tick, tick / NSEC_PER_MSEC, tick / NSEC_PER_MSEC);
}

int watch_join(struct watcher *w)
{
	struct watch_hub *hub = hub_get(w->call->svc);
	uint64_t now = nr_exec_now_ns();

	if (!hub)
		return -ENOMEM;
	w->hub = hub;
	w->next = hub->watchers;
	hub->watchers = w;
	hub_adopt(hub);
	hub_schedule(hub);
	for (struct watch_poller *p = hub->pollers; p; p = p->next) {
		if (!watcher_wants(w, p->name) || p->in_flight || p->polled || p->gone)
			continue;
		p->next_due_ns = now + w->interval_ns;
		p->due = true;
	}
	hub_poll_marked(hub);
	return 0;
}

void watch_leave(struct watcher *w)
{
	struct watch_hub *hub = w->hub;
	struct watcher **link;

	if (!hub)
		return;
	for (link = &hub->watchers; *link && *link != w; link = &(*link)->next)
		;
	if (*link)
		*link = w->next;
	w->hub = NULL;
	hub->tick_ns = 0;
	hub_schedule(hub);
	hub_maybe_free(hub);
}

bool watch_ready(struct watcher *w)
{
	for (struct watch_poller *p = w->hub->pollers; p; p = p->next) {
		if (watcher_wants(w, p->name) && !p->polled)
			return false;
	}
	return true;
}

json_t *watch_snapshot_devices(struct watcher *w)
{
	json_t *list = json_array();

	for (struct watch_poller *p = w->hub->pollers; list && p; p = p->next) {
		if (watcher_wants(w, p->name))
			json_array_append_new(
			    list, watch_state_json(p->gone ? NULL : p->ctrl, p->name, &p->state));
	}
	return list;
}
