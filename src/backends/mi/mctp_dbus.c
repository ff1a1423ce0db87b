/* SPDX-License-Identifier: MIT */
/*
 * MCTP endpoint discovery over D-Bus (libdbus-1, low-level API). Everything
 * here runs on the calling (worker) thread over a private connection, so no
 * state is shared with other callers or with libnvme-mi's own connection.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/mi/mctp_dbus.h"

#define ENDPOINT_INTERFACE "xyz.openbmc_project.MCTP.Endpoint"
#define OBJECT_MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"
#define MANAGED_OBJECTS_SIGNATURE "a{oa{sa{sv}}}"

struct mctp_service {
	const char *name;
	const char *root;
};

/* Asked in this order; the first to report an endpoint (net, eid) keeps it. */
static const struct mctp_service mctp_services[] = {
    {.name = "au.com.codeconstruct.MCTP1", .root = "/au/com/codeconstruct/mctp1"},
    {.name = "xyz.openbmc_project.MCTP", .root = "/xyz/openbmc_project/mctp"},
};

struct endpoint_list {
	struct nr_mctp_endpoint *items;
	size_t count;
	size_t cap;
};

/* The properties of one xyz.openbmc_project.MCTP.Endpoint interface. */
struct endpoint_props {
	bool have_eid, have_net, have_types;
	uint8_t eid;
	uint32_t net;
	bool nvme_mi;
};

struct errno_name {
	const char *dbus_name;
	int err;
};

static const struct errno_name call_errors[] = {
    {DBUS_ERROR_NO_MEMORY, ENOMEM},
    {DBUS_ERROR_NO_REPLY, ETIMEDOUT},
    {DBUS_ERROR_TIMEOUT, ETIMEDOUT},
    {DBUS_ERROR_TIMED_OUT, ETIMEDOUT},
    {DBUS_ERROR_DISCONNECTED, ECONNRESET},
    {DBUS_ERROR_ACCESS_DENIED, EACCES},
    {DBUS_ERROR_UNKNOWN_METHOD, EOPNOTSUPP},
    {DBUS_ERROR_UNKNOWN_OBJECT, EOPNOTSUPP},
    {DBUS_ERROR_UNKNOWN_INTERFACE, EOPNOTSUPP},
};

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

static const char *dbus_error_text(const DBusError *e)
{
	return dbus_error_is_set(e) && e->message ? e->message : "no detail given";
}

/* Returns the negative errno for a failed method call's D-Bus error name. */
static int call_errno(const DBusError *e)
{
	size_t i;

	for (i = 0; i < sizeof(call_errors) / sizeof(call_errors[0]); i++)
		if (dbus_error_has_name(e, call_errors[i].dbus_name))
			return -call_errors[i].err;
	return -EIO;
}

/* Returns true when the error says the name has no owner on the bus. */
static bool service_absent(const DBusError *e)
{
	return dbus_error_has_name(e, DBUS_ERROR_SERVICE_UNKNOWN) ||
	       dbus_error_has_name(e, DBUS_ERROR_NAME_HAS_NO_OWNER);
}

/*
 * Opens a private connection to @address (NULL: the system bus) and
 * registers it with the bus. Returns 0 with a new connection in *@out that
 * the caller closes and unrefs, or -ENOMEM, -EINVAL (bad address) or
 * -ECONNREFUSED (the bus cannot be reached) with a sentence in @err.
 */
static int bus_connect(const char *address, DBusConnection **out, char *err, size_t err_len)
{
	DBusConnection *conn;
	DBusError e;
	int rc = -ECONNREFUSED;

	dbus_error_init(&e);
	if (address) {
		conn = dbus_connection_open_private(address, &e);
		if (conn && !dbus_bus_register(conn, &e)) {
			dbus_connection_close(conn);
			dbus_connection_unref(conn);
			conn = NULL;
		}
	} else {
		conn = dbus_bus_get_private(DBUS_BUS_SYSTEM, &e);
	}
	if (!conn) {
		if (dbus_error_has_name(&e, DBUS_ERROR_NO_MEMORY))
			rc = -ENOMEM;
		else if (dbus_error_has_name(&e, DBUS_ERROR_BAD_ADDRESS))
			rc = -EINVAL;
		set_err(err, err_len, "Cannot reach the D-Bus bus at %s: %s.",
			address ? address : "the system bus address", dbus_error_text(&e));
		dbus_error_free(&e);
		return rc;
	}
	/* A library must not let a dropped bus connection end the process. */
	dbus_connection_set_exit_on_disconnect(conn, FALSE);
	*out = conn;
	return 0;
}

/*
 * Reads an integer of any D-Bus integer type from @var into *@out.
 * Returns 0, or -EPROTO when it is not an integer or is out of uint32 range.
 */
static int variant_u32(DBusMessageIter *var, uint32_t *out)
{
	int type = dbus_message_iter_get_arg_type(var);
	DBusBasicValue v;
	uint64_t value;

	if (type != DBUS_TYPE_BYTE && type != DBUS_TYPE_UINT16 && type != DBUS_TYPE_UINT32 &&
	    type != DBUS_TYPE_UINT64 && type != DBUS_TYPE_INT16 && type != DBUS_TYPE_INT32 &&
	    type != DBUS_TYPE_INT64)
		return -EPROTO;
	dbus_message_iter_get_basic(var, &v);
	value = type == DBUS_TYPE_BYTE	   ? v.byt
		: type == DBUS_TYPE_UINT16 ? v.u16
		: type == DBUS_TYPE_UINT32 ? v.u32
		: type == DBUS_TYPE_UINT64 ? v.u64
		: type == DBUS_TYPE_INT16  ? (uint64_t)v.i16
		: type == DBUS_TYPE_INT32  ? (uint64_t)v.i32
					   : (uint64_t)v.i64;
	/* A negative signed value converts to more than UINT32_MAX. */
	if (value > UINT32_MAX)
		return -EPROTO;
	*out = (uint32_t)value;
	return 0;
}

/* Returns true when @var holds an "ay"; sets *@nvme_mi when it contains 0x04. */
static bool variant_types(DBusMessageIter *var, bool *nvme_mi)
{
	DBusMessageIter array;
	const uint8_t *types;
	int n, i;

	if (dbus_message_iter_get_arg_type(var) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(var) != DBUS_TYPE_BYTE)
		return false;
	dbus_message_iter_recurse(var, &array);
	dbus_message_iter_get_fixed_array(&array, &types, &n);
	*nvme_mi = false;
	for (i = 0; i < n; i++)
		if (types[i] == NR_MCTP_TYPE_NVME_MI)
			*nvme_mi = true;
	return true;
}

/*
 * Reads one property (@name, variant @var) of the endpoint interface at
 * @path into @p; ignores properties it does not know. Returns 0 or -EPROTO.
 */
static int read_property(const char *path, const char *name, DBusMessageIter *var,
			 struct endpoint_props *p, char *err, size_t err_len)
{
	if (!strcmp(name, "EID")) {
		if (dbus_message_iter_get_arg_type(var) != DBUS_TYPE_BYTE)
			goto bad;
		dbus_message_iter_get_basic(var, &p->eid);
		p->have_eid = true;
	} else if (!strcmp(name, "NetworkId")) {
		if (variant_u32(var, &p->net))
			goto bad;
		p->have_net = true;
	} else if (!strcmp(name, "SupportedMessageTypes")) {
		p->have_types = variant_types(var, &p->nvme_mi);
		if (!p->have_types)
			goto bad;
	}
	return 0;
bad:
	set_err(err, err_len, "Endpoint %s has a malformed %s property (type '%c').", path, name,
		dbus_message_iter_get_arg_type(var));
	return -EPROTO;
}

/*
 * Reads the endpoint interface's a{sv} at @props for the object @path.
 * Returns 0 with all three properties in @p, or -EPROTO.
 */
static int read_endpoint_props(const char *path, DBusMessageIter *props, struct endpoint_props *p,
			       char *err, size_t err_len)
{
	DBusMessageIter dict, entry, var;
	const char *name;
	int rc;

	memset(p, 0, sizeof(*p));
	dbus_message_iter_recurse(props, &dict);
	for (; dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&dict)) {
		dbus_message_iter_recurse(&dict, &entry);
		dbus_message_iter_get_basic(&entry, &name);
		dbus_message_iter_next(&entry);
		dbus_message_iter_recurse(&entry, &var);
		rc = read_property(path, name, &var, p, err, err_len);
		if (rc)
			return rc;
	}
	if (p->have_eid && p->have_net && p->have_types)
		return 0;
	set_err(err, err_len, "Endpoint %s lacks its %s property.", path,
		!p->have_eid   ? "EID"
		: !p->have_net ? "NetworkId"
			       : "SupportedMessageTypes");
	return -EPROTO;
}

/*
 * Appends the endpoint unless its (net, eid) is already listed. Returns 0,
 * -EPROTO when @path does not fit, or -ENOMEM.
 */
static int list_add(struct endpoint_list *list, const char *service, const char *path,
		    const struct endpoint_props *p, char *err, size_t err_len)
{
	struct nr_mctp_endpoint *ep;
	size_t i;

	for (i = 0; i < list->count; i++)
		if (list->items[i].net == p->net && list->items[i].eid == p->eid)
			return 0;
	if (strlen(path) >= sizeof(ep->path)) {
		set_err(err, err_len, "Endpoint object path %.64s... is longer than %zu bytes.",
			path, sizeof(ep->path) - 1);
		return -EPROTO;
	}
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		void *items = realloc(list->items, cap * sizeof(*list->items));

		if (!items) {
			set_err(err, err_len, "Out of memory listing MCTP endpoints.");
			return -ENOMEM;
		}
		list->items = items;
		list->cap = cap;
	}
	ep = &list->items[list->count++];
	memset(ep, 0, sizeof(*ep));
	ep->net = p->net;
	ep->eid = p->eid;
	snprintf(ep->service, sizeof(ep->service), "%s", service);
	snprintf(ep->path, sizeof(ep->path), "%s", path);
	return 0;
}

/*
 * Reads one object (@path, its a{sa{sv}} at @ifaces) and lists it when it is
 * an NVMe-MI endpoint. Objects without the endpoint interface are skipped.
 * Returns 0 or -errno.
 */
static int read_object(const struct mctp_service *svc, const char *path, DBusMessageIter *ifaces,
		       struct endpoint_list *list, char *err, size_t err_len)
{
	DBusMessageIter dict, entry;
	struct endpoint_props props;
	const char *name;
	int rc;

	dbus_message_iter_recurse(ifaces, &dict);
	for (; dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&dict)) {
		dbus_message_iter_recurse(&dict, &entry);
		dbus_message_iter_get_basic(&entry, &name);
		if (strcmp(name, ENDPOINT_INTERFACE))
			continue;
		dbus_message_iter_next(&entry);
		rc = read_endpoint_props(path, &entry, &props, err, err_len);
		if (rc || !props.nvme_mi)
			return rc;
		return list_add(list, svc->name, path, &props, err, err_len);
	}
	return 0;
}

/* Walks a GetManagedObjects reply from @svc. Returns 0 or -errno. */
static int read_managed_objects(const struct mctp_service *svc, DBusMessage *reply,
				struct endpoint_list *list, char *err, size_t err_len)
{
	DBusMessageIter top, objects, entry;
	const char *path;
	int rc;

	if (!dbus_message_has_signature(reply, MANAGED_OBJECTS_SIGNATURE)) {
		set_err(err, err_len, "%s answered GetManagedObjects on %s with signature '%s'.",
			svc->name, svc->root, dbus_message_get_signature(reply));
		return -EPROTO;
	}
	dbus_message_iter_init(reply, &top);
	dbus_message_iter_recurse(&top, &objects);
	for (; dbus_message_iter_get_arg_type(&objects) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&objects)) {
		dbus_message_iter_recurse(&objects, &entry);
		dbus_message_iter_get_basic(&entry, &path);
		dbus_message_iter_next(&entry);
		rc = read_object(svc, path, &entry, list, err, err_len);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Calls GetManagedObjects on @svc. Returns 0 with a new reference in *@reply,
 * 1 when the service is not on the bus, or -errno with a sentence in @err.
 */
static int call_managed_objects(DBusConnection *conn, const struct mctp_service *svc,
				DBusMessage **reply, char *err, size_t err_len)
{
	DBusMessage *call;
	DBusError e;
	int rc;

	call = dbus_message_new_method_call(svc->name, svc->root, OBJECT_MANAGER_INTERFACE,
					    "GetManagedObjects");
	if (!call) {
		set_err(err, err_len, "Out of memory building a D-Bus call.");
		return -ENOMEM;
	}
	/* Discovery reports what runs; it does not start an MCTP daemon. */
	dbus_message_set_auto_start(call, FALSE);
	dbus_error_init(&e);
	*reply =
	    dbus_connection_send_with_reply_and_block(conn, call, NR_MCTP_DBUS_CALL_TIMEOUT_MS, &e);
	dbus_message_unref(call);
	if (*reply)
		return 0;
	if (service_absent(&e)) {
		dbus_error_free(&e);
		return 1;
	}
	rc = call_errno(&e);
	set_err(err, err_len, "%s failed GetManagedObjects on %s: %s.", svc->name, svc->root,
		dbus_error_text(&e));
	dbus_error_free(&e);
	return rc;
}

/* Lists @svc's NVMe-MI endpoints into @list. Returns 0 or -errno. */
static int query_service(DBusConnection *conn, const struct mctp_service *svc,
			 struct endpoint_list *list, char *err, size_t err_len)
{
	DBusMessage *reply;
	int rc;

	rc = call_managed_objects(conn, svc, &reply, err, err_len);
	if (rc)
		return rc > 0 ? 0 : rc;
	rc = read_managed_objects(svc, reply, list, err, err_len);
	dbus_message_unref(reply);
	return rc;
}

int nr_mctp_dbus_discover(const char *bus_address, struct nr_mctp_endpoint **out, size_t *count,
			  char *err, size_t err_len)
{
	struct endpoint_list list = {0};
	DBusConnection *conn;
	size_t i;
	int rc;

	if (!out || !count)
		return -EINVAL;
	*out = NULL;
	*count = 0;
	if (!dbus_threads_init_default())
		return -ENOMEM;
	rc = bus_connect(bus_address, &conn, err, err_len);
	if (rc)
		return rc;
	for (i = 0; i < sizeof(mctp_services) / sizeof(mctp_services[0]) && !rc; i++)
		rc = query_service(conn, &mctp_services[i], &list, err, err_len);
	dbus_connection_close(conn);
	dbus_connection_unref(conn);
	if (rc) {
		free(list.items);
		return rc;
	}
	*out = list.items;
	*count = list.count;
	return 0;
}
