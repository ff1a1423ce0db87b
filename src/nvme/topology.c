/* SPDX-License-Identifier: MIT */
#include "nvme/topology.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <libnvme.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode.h"

struct nr_topology {
	struct nr_ctrl **ctrls;
	size_t ctrl_count;
	/* Entries nr_topology_drop_vanished unlisted, each holding its reference:
	 * their backend controller may come back (nr_topology_restore). */
	struct nr_ctrl **vanished;
	size_t vanished_count;
};

struct nr_topology *nr_topology_new(void)
{
	return calloc(1, sizeof(struct nr_topology));
}

static void ctrl_free(struct nr_ctrl *ctrl)
{
	for (size_t i = 0; i < ctrl->ns_count; i++)
		free(ctrl->namespaces[i]);
	free(ctrl->namespaces);
	if (ctrl->fifo)
		nr_devq_unref(ctrl->fifo);
	if (ctrl->successor)
		nr_ctrl_unref(ctrl->successor);
	free(ctrl);
}

void nr_ctrl_ref(struct nr_ctrl *ctrl)
{
	ctrl->refs++;
}

void nr_ctrl_unref(struct nr_ctrl *ctrl)
{
	assert(ctrl->refs > 0);
	if (--ctrl->refs > 0)
		return;
	if (ctrl->ops->release)
		ctrl->ops->release(ctrl->backend_ctrl);
	ctrl_free(ctrl);
}

void nr_ctrl_share_fifo(struct nr_ctrl *ctrl, const struct nr_ctrl *with)
{
	assert(ctrl->fifo->waiting == 0 && !ctrl->fifo->running);
	nr_devq_ref(with->fifo);
	nr_devq_unref(ctrl->fifo);
	ctrl->fifo = with->fifo;
}

bool nr_ctrl_removed(const struct nr_ctrl *ctrl)
{
	while (ctrl->successor)
		ctrl = ctrl->successor;
	return ctrl->gone;
}

void nr_topology_free(struct nr_topology *topo)
{
	if (!topo)
		return;
	for (size_t i = 0; i < topo->ctrl_count; i++)
		nr_ctrl_unref(topo->ctrls[i]);
	for (size_t i = 0; i < topo->vanished_count; i++)
		nr_ctrl_unref(topo->vanished[i]);
	free(topo->ctrls);
	free(topo->vanished);
	free(topo);
}

/* Copies a space-padded identifier field into a C string. */
static void ident_copy(char *dst, size_t dst_len, const char *src, size_t src_len)
{
	size_t n = src_len < dst_len - 1 ? src_len : dst_len - 1;

	memcpy(dst, src, n);
	dst[n] = '\0';
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		dst[--n] = '\0';
}

/* Issues one command synchronously through the backend. Returns 0, -errno,
 * or -EIO when the controller completed it with an error status. */
static int submit_sync(struct nr_ctrl *ctrl, struct nr_cmd *cmd)
{
	int rc = ctrl->ops->submit(ctrl->backend_ctrl, cmd);

	if (rc == 0 && (cmd->status != 0 || cmd->mi_status != 0))
		rc = -EIO;
	return rc;
}

static int learn_ctrl(struct nr_ctrl *ctrl)
{
	struct nvme_id_ctrl id;
	struct nr_cmd cmd;
	int rc;

	nr_cmd_identify(&cmd, NR_CNS_CTRL, NR_CSI_NVM, 0, 0, &id, sizeof(id));
	rc = submit_sync(ctrl, &cmd);
	if (rc)
		return rc;
	ident_copy(ctrl->sn, sizeof(ctrl->sn), id.sn, sizeof(id.sn));
	ident_copy(ctrl->mn, sizeof(ctrl->mn), id.mn, sizeof(id.mn));
	ident_copy(ctrl->fr, sizeof(ctrl->fr), id.fr, sizeof(id.fr));
	ident_copy(ctrl->subnqn, sizeof(ctrl->subnqn), id.subnqn, sizeof(id.subnqn));
	ctrl->cntlid = le16toh(id.cntlid);
	ctrl->oacs_lo = (uint8_t)le16toh(id.oacs);
	ctrl->oacs = le16toh(id.oacs);
	ctrl->oncs = le16toh(id.oncs);
	ctrl->fna = id.fna;
	ctrl->frmw = id.frmw;
	ctrl->lpa = id.lpa;
	ctrl->elpe = id.elpe;
	ctrl->mdts = id.mdts;
	ctrl->fwug = id.fwug;
	ctrl->sanicap = le32toh(id.sanicap);
	ctrl->nn = le32toh(id.nn);
	return 0;
}

static uint8_t ns_csi(struct nr_ctrl *ctrl, uint32_t nsid)
{
	uint8_t buf[4096];
	struct nr_cmd cmd;
	size_t off = 0;

	nr_cmd_identify(&cmd, NR_CNS_NS_DESC_LIST, NR_CSI_NVM, nsid, 0, buf, sizeof(buf));
	if (submit_sync(ctrl, &cmd) != 0)
		return NR_CSI_NVM;
	while (off + sizeof(struct nvme_ns_id_desc) < sizeof(buf)) {
		struct nvme_ns_id_desc *desc = (struct nvme_ns_id_desc *)(buf + off);
		if (desc->nidl == 0)
			break;
		if (desc->nidt == NVME_NIDT_CSI)
			return desc->nid[0];
		off += sizeof(*desc) + desc->nidl;
	}
	return NR_CSI_NVM;
}

static unsigned flbas_index(const struct nvme_id_ns *id)
{
	return (id->flbas & 0xf) | (id->nlbaf > 16 ? ((id->flbas >> 5) & 0x3) << 4 : 0);
}

static int learn_zones(struct nr_ctrl *ctrl, struct nr_ns *ns, unsigned lbaf)
{
	struct nvme_zns_id_ns zid;
	struct nr_cmd cmd;
	int rc;

	nr_cmd_identify(&cmd, NR_CNS_CSI_NS, NR_CSI_ZNS, ns->nsid, 0, &zid, sizeof(zid));
	rc = submit_sync(ctrl, &cmd);
	if (rc)
		return rc;
	ns->zone_size = le64toh(zid.lbafe[lbaf].zsze);
	ns->nr_zones = ns->zone_size ? ns->nsze / ns->zone_size : 0;
	ns->zdes_bytes = (uint32_t)zid.lbafe[lbaf].zdes * 64u;
	return 0;
}

static int learn_ns(struct nr_ctrl *ctrl, uint32_t nsid, struct nr_ns *ns)
{
	struct nvme_id_ns id;
	struct nr_cmd cmd;
	unsigned lbaf;
	int rc;

	nr_cmd_identify(&cmd, NR_CNS_NS, NR_CSI_NVM, nsid, 0, &id, sizeof(id));
	rc = submit_sync(ctrl, &cmd);
	if (rc)
		return rc;
	lbaf = flbas_index(&id);
	ns->nsid = nsid;
	ns->ctrl = ctrl;
	ns->nsze = le64toh(id.nsze);
	ns->ncap = le64toh(id.ncap);
	ns->nuse = le64toh(id.nuse);
	ns->lba_size = 1u << (id.lbaf[lbaf].ds & 31);
	ns->csi = ns_csi(ctrl, nsid);
	if (!ctrl->ops->ns_names ||
	    ctrl->ops->ns_names(ctrl->backend_ctrl, nsid, ns->name, ns->alias, NR_NAME_MAX) != 0) {
		ns->alias[0] = '\0';
		if (snprintf(ns->name, sizeof(ns->name), "%sn%u", ctrl->name, nsid) >=
		    (int)sizeof(ns->name))
			return -ENAMETOOLONG;
	}
	return ns->csi == NR_CSI_ZNS ? learn_zones(ctrl, ns, lbaf) : 0;
}

static int learn_namespaces(struct nr_ctrl *ctrl)
{
	uint32_t list[1024];
	struct nr_cmd cmd;
	size_t count = 0;
	int rc;

	nr_cmd_identify(&cmd, NR_CNS_NS_ACTIVE_LIST, NR_CSI_NVM, 0, 0, list, sizeof(list));
	rc = submit_sync(ctrl, &cmd);
	if (rc)
		return rc;
	while (count < 1024 && list[count] != 0)
		count++;
	ctrl->namespaces = calloc(count ? count : 1, sizeof(*ctrl->namespaces));
	if (!ctrl->namespaces)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct nr_ns *ns = calloc(1, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		ctrl->namespaces[ctrl->ns_count++] = ns;
		rc = learn_ns(ctrl, le32toh(list[i]), ns);
		if (rc)
			return rc;
	}
	return 0;
}

static size_t prefix_count(const struct nr_topology *topo, const char *prefix)
{
	size_t n = 0;
	size_t len = strlen(prefix);

	for (size_t i = 0; i < topo->ctrl_count; i++)
		n += strncmp(topo->ctrls[i]->name, prefix, len) == 0;
	return n;
}

struct nr_ctrl *nr_ctrl_new_hidden(const char *name, const struct nr_backend_ops *ops,
				   void *backend_ctrl)
{
	struct nr_ctrl *ctrl = calloc(1, sizeof(*ctrl));

	if (!ctrl)
		return NULL;
	ctrl->ops = ops;
	ctrl->backend_ctrl = backend_ctrl;
	ctrl->fifo = nr_devq_new();
	if (!ctrl->fifo) {
		free(ctrl);
		return NULL;
	}
	ctrl->refs = 1;
	ctrl->hidden = true;
	snprintf(ctrl->name, sizeof(ctrl->name), "%s", name);
	snprintf(ctrl->transport, sizeof(ctrl->transport), "%s", ops->name);
	if (ops->ctrl_info)
		ops->ctrl_info(backend_ctrl, ctrl->transport, sizeof(ctrl->transport),
			       ctrl->address, sizeof(ctrl->address));
	return ctrl;
}

int nr_ctrl_build(const char *name, const struct nr_backend_ops *ops, void *backend_ctrl,
		  struct nr_ctrl **out)
{
	struct nr_ctrl *ctrl = nr_ctrl_new_hidden(name, ops, backend_ctrl);
	int rc;

	if (!ctrl)
		return -ENOMEM;
	ctrl->hidden = false;
	rc = learn_ctrl(ctrl);
	if (rc == 0)
		rc = learn_namespaces(ctrl);
	if (rc) {
		ctrl_free(ctrl);
		return rc;
	}
	*out = ctrl;
	return 0;
}

int nr_topology_insert(struct nr_topology *topo, struct nr_ctrl *ctrl)
{
	struct nr_ctrl **grown = realloc(topo->ctrls, (topo->ctrl_count + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	topo->ctrls = grown;
	topo->ctrls[topo->ctrl_count++] = ctrl;
	return 0;
}

void nr_topology_retire(struct nr_topology *topo, const struct nr_backend_ops *ops)
{
	size_t kept = 0;

	for (size_t i = 0; i < topo->ctrl_count; i++) {
		struct nr_ctrl *ctrl = topo->ctrls[i];
		if (ctrl->ops != ops) {
			topo->ctrls[kept++] = ctrl;
			continue;
		}
		ctrl->gone = true;
		nr_ctrl_unref(ctrl);
	}
	topo->ctrl_count = kept;
}

/* Whether @ctrl's backend says it is gone: its probe says -ENODEV, or a
 * command found it so (gone) and the backend could tell if it came back. */
static bool ctrl_vanished(struct nr_ctrl *ctrl)
{
	return ctrl->ops->probe && (ctrl->gone || ctrl->ops->probe(ctrl->backend_ctrl) == -ENODEV);
}

/* Unlists @topo->ctrls[@i], marked gone. Returns it with the list's
 * reference, now the caller's. */
static struct nr_ctrl *unlist_at(struct nr_topology *topo, size_t i)
{
	struct nr_ctrl *ctrl = topo->ctrls[i];

	memmove(&topo->ctrls[i], &topo->ctrls[i + 1],
		(topo->ctrl_count - i - 1) * sizeof(*topo->ctrls));
	topo->ctrl_count--;
	ctrl->gone = true;
	return ctrl;
}

/* Unlists @topo->ctrls[@i] into the vanished entries (its reference moves
 * along; a previous entry of the same name goes). Returns 0 or -ENOMEM. */
static int vanish(struct nr_topology *topo, size_t i)
{
	const char *name = topo->ctrls[i]->name;
	struct nr_ctrl **grown =
	    realloc(topo->vanished, (topo->vanished_count + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	topo->vanished = grown;
	for (size_t v = 0; v < topo->vanished_count; v++) {
		if (strcmp(topo->vanished[v]->name, name) == 0) {
			nr_ctrl_unref(topo->vanished[v]);
			topo->vanished[v] = topo->vanished[--topo->vanished_count];
			break;
		}
	}
	topo->vanished[topo->vanished_count++] = unlist_at(topo, i);
	return 0;
}

void nr_topology_drop_vanished(struct nr_topology *topo)
{
	size_t i = 0;

	while (i < topo->ctrl_count) {
		struct nr_ctrl *ctrl = topo->ctrls[i];

		if (!ctrl_vanished(ctrl))
			i++;
		else if (vanish(topo, i) != 0)
			nr_ctrl_unref(unlist_at(topo, i)); /* out of memory: it cannot come back */
	}
}

/* Lists a fresh entry for vanished entry @v, learnt again through the backend
 * on this thread, queueing on the old entry's FIFO. Returns 0 or -errno. */
static int restore_one(struct nr_topology *topo, size_t v)
{
	struct nr_ctrl *old = topo->vanished[v], *fresh;
	int rc = nr_ctrl_build(old->name, old->ops, old->backend_ctrl, &fresh);

	if (rc)
		return rc;
	nr_ctrl_share_fifo(fresh, old);
	rc = nr_topology_insert(topo, fresh);
	if (rc) {
		nr_ctrl_unref(fresh);
		return rc;
	}
	topo->vanished[v] = topo->vanished[--topo->vanished_count];
	nr_ctrl_unref(old);
	return 0;
}

size_t nr_topology_restore(struct nr_topology *topo)
{
	size_t v = 0, restored = 0;

	while (v < topo->vanished_count) {
		struct nr_ctrl *c = topo->vanished[v];
		const struct nr_backend_ops *ops = c->ops;
		if (ops->probe(c->backend_ctrl) == 0 && ops->runs_inline &&
		    ops->runs_inline(c->backend_ctrl) && restore_one(topo, v) == 0)
			restored++; /* another entry moved to @v */
		else
			v++;
	}
	return restored;
}

struct nr_ctrl *nr_topology_find_any(struct nr_topology *topo, const char *name)
{
	for (size_t i = 0; i < topo->ctrl_count; i++) {
		if (!topo->ctrls[i]->hidden && strcmp(topo->ctrls[i]->name, name) == 0)
			return topo->ctrls[i];
	}
	for (size_t v = 0; v < topo->vanished_count; v++) {
		if (strcmp(topo->vanished[v]->name, name) == 0)
			return topo->vanished[v];
	}
	return NULL;
}

int nr_topology_remove(struct nr_topology *topo, struct nr_ctrl *ctrl)
{
	for (size_t i = 0; i < topo->ctrl_count; i++) {
		if (topo->ctrls[i] == ctrl) {
			nr_ctrl_unref(unlist_at(topo, i));
			return 0;
		}
	}
	return -ENOENT;
}

int nr_topology_replace(struct nr_topology *topo, struct nr_ctrl *old, struct nr_ctrl *fresh)
{
	for (size_t i = 0; i < topo->ctrl_count; i++) {
		if (topo->ctrls[i] != old)
			continue;
		topo->ctrls[i] = fresh;
		nr_ctrl_share_fifo(fresh, old);
		nr_ctrl_ref(fresh);
		old->successor = fresh;
		old->gone = true;
		nr_ctrl_unref(old);
		return 0;
	}
	return nr_topology_insert(topo, fresh);
}

int nr_topology_add_ctrl_named(struct nr_topology *topo, const char *name,
			       const struct nr_backend_ops *ops, void *backend_ctrl)
{
	struct nr_ctrl *ctrl;
	int rc = nr_ctrl_build(name, ops, backend_ctrl, &ctrl);

	if (rc)
		return rc;
	rc = nr_topology_insert(topo, ctrl);
	if (rc)
		ctrl_free(ctrl); /* the backend controller stays the caller's */
	return rc;
}

int nr_topology_add_ctrl(struct nr_topology *topo, const char *prefix,
			 const struct nr_backend_ops *ops, void *backend_ctrl)
{
	char name[NR_NAME_MAX];

	snprintf(name, sizeof(name), "%s%zu", prefix, prefix_count(topo, prefix));
	return nr_topology_add_ctrl_named(topo, name, ops, backend_ctrl);
}

static bool ns_matches(const struct nr_ns *ns, const char *name)
{
	return strcmp(ns->name, name) == 0 || (ns->alias[0] && strcmp(ns->alias, name) == 0);
}

int nr_topology_find(struct nr_topology *topo, const char *name, struct nr_device *out)
{
	if (name && strncmp(name, "/dev/", 5) == 0)
		name += 5;
	for (size_t i = 0; name && i < topo->ctrl_count; i++) {
		struct nr_ctrl *ctrl = topo->ctrls[i];
		if (ctrl->gone)
			continue; /* removed under us: a namespace resolves to a live path */
		if (strcmp(ctrl->name, name) == 0) {
			*out = (struct nr_device){ctrl, NULL};
			return 0;
		}
		for (size_t n = 0; n < ctrl->ns_count; n++) {
			if (ns_matches(ctrl->namespaces[n], name)) {
				*out = (struct nr_device){ctrl, ctrl->namespaces[n]};
				return 0;
			}
		}
	}
	return -ENODEV;
}

int nr_topology_other_path(struct nr_topology *topo, const struct nr_device *dev,
			   struct nr_device *out)
{
	for (size_t i = 0; dev->ns && i < topo->ctrl_count; i++) {
		struct nr_ctrl *ctrl = topo->ctrls[i];
		if (ctrl == dev->ctrl || ctrl->gone || !ctrl->subnqn[0] ||
		    ctrl->ops != dev->ctrl->ops || strcmp(ctrl->subnqn, dev->ctrl->subnqn) != 0)
			continue;
		for (size_t n = 0; n < ctrl->ns_count; n++) {
			if (ctrl->namespaces[n]->nsid == dev->ns->nsid) {
				*out = (struct nr_device){ctrl, ctrl->namespaces[n]};
				return 0;
			}
		}
	}
	return -ENODEV;
}

json_t *nr_topology_backends(const struct nr_topology *topo)
{
	json_t *list = json_array();

	for (size_t i = 0; i < topo->ctrl_count; i++) {
		json_t *name = json_string(topo->ctrls[i]->ops->name);
		size_t j;
		json_t *seen;
		bool dup = false;
		json_array_foreach (list, j, seen)
			dup |= json_equal(seen, name);
		if (dup)
			json_decref(name);
		else
			json_array_append_new(list, name);
	}
	return list;
}

static json_t *ns_json(const struct nr_ns *ns)
{
	json_t *obj =
	    json_pack("{s:s, s:I, s:s, s:o, s:o, s:o, s:I}", "name", ns->name, "nsid",
		      (json_int_t)ns->nsid, "csi", ns->csi == NR_CSI_ZNS ? "zns" : "nvm", "nsze",
		      nr_json_u64(ns->nsze), "ncap", nr_json_u64(ns->ncap), "nuse",
		      nr_json_u64(ns->nuse), "lba_size", (json_int_t)ns->lba_size);

	if (ns->alias[0])
		json_object_set_new(obj, "generic", json_string(ns->alias));
	if (ns->zone_size) {
		json_object_set_new(obj, "nr_zones", nr_json_u64(ns->nr_zones));
		json_object_set_new(obj, "zone_size", nr_json_u64(ns->zone_size));
	}
	return obj;
}

static json_t *ctrl_json(const struct nr_ctrl *ctrl)
{
	json_t *names = json_array();

	for (size_t i = 0; i < ctrl->ns_count; i++)
		json_array_append_new(names, json_string(ctrl->namespaces[i]->name));
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:o}", "name", ctrl->name,
			 "backend", ctrl->ops->name, "transport", ctrl->transport, "address",
			 ctrl->address, "cntlid", ctrl->cntlid, "sn", ctrl->sn, "mn", ctrl->mn,
			 "fr", ctrl->fr, "namespaces", names);
}

/* Returns the subsystem object for @ctrl in @list (borrowed), creating it. */
static json_t *subsys_for(json_t *list, const struct nr_ctrl *ctrl)
{
	size_t i;
	json_t *subsys;

	json_array_foreach (list, i, subsys) {
		if (strcmp(json_string_value(json_object_get(subsys, "nqn")), ctrl->subnqn) == 0 &&
		    strcmp(json_string_value(json_object_get(subsys, "backend")),
			   ctrl->ops->name) == 0)
			return subsys;
	}
	subsys = json_pack("{s:s, s:s, s:[], s:[]}", "nqn", ctrl->subnqn, "backend",
			   ctrl->ops->name, "controllers", "namespaces");
	json_array_append_new(list, subsys);
	return subsys;
}

/* The listed namespace with @nsid (borrowed), or NULL. */
static json_t *ns_listed(json_t *namespaces, uint32_t nsid)
{
	size_t i;
	json_t *ns;

	json_array_foreach (namespaces, i, ns) {
		if (json_integer_value(json_object_get(ns, "nsid")) == nsid)
			return ns;
	}
	return NULL;
}

/* Lists @ns under its subsystem once, with every controller reaching it
 * (more than one: multipath). */
static void ns_list_add(json_t *namespaces, const struct nr_ctrl *ctrl, const struct nr_ns *ns)
{
	json_t *entry = ns_listed(namespaces, ns->nsid);

	if (!entry) {
		entry = ns_json(ns);
		json_object_set_new(entry, "controllers", json_array());
		json_array_append_new(namespaces, entry);
	}
	json_array_append_new(json_object_get(entry, "controllers"), json_string(ctrl->name));
}

json_t *nr_topology_list(const struct nr_topology *topo)
{
	json_t *list = json_array();

	for (size_t i = 0; i < topo->ctrl_count; i++) {
		const struct nr_ctrl *ctrl = topo->ctrls[i];
		if (ctrl->hidden)
			continue;
		json_t *subsys = subsys_for(list, ctrl);
		json_t *namespaces = json_object_get(subsys, "namespaces");
		json_array_append_new(json_object_get(subsys, "controllers"), ctrl_json(ctrl));
		for (size_t n = 0; n < ctrl->ns_count; n++)
			ns_list_add(namespaces, ctrl, ctrl->namespaces[n]);
	}
	return json_pack("{s:o}", "subsystems", list);
}

size_t nr_topology_ctrl_count(const struct nr_topology *topo)
{
	return topo->ctrl_count;
}

struct nr_ctrl *nr_topology_ctrl_at(struct nr_topology *topo, size_t index)
{
	return index < topo->ctrl_count ? topo->ctrls[index] : NULL;
}
