/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for mctpd on a private test bus: owns one of the two names the
 * real daemons use and serves their endpoint objects through
 * ObjectManager.GetManagedObjects, Properties.Get/GetAll and a minimal
 * Introspect. It only answers; it does no MCTP.
 *
 *   fake_mctpd --address ADDR --service codeconstruct|openbmc
 *              --endpoint NET:EID:TYPES [--endpoint ...]
 *              [--network-id-type y|q|u|i|t|x] [--malformed] [--stall]
 *
 * TYPES is a comma list of MCTP message types ("0x00,0x04"). --malformed
 * sends EID as a uint16, which a client must reject. --stall owns the name
 * but never answers, like a wedged daemon. Prints "ready" once the name is
 * owned and runs until SIGTERM or SIGINT.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENDPOINT_IFACE "xyz.openbmc_project.MCTP.Endpoint"
#define CC_ENDPOINT_IFACE "au.com.codeconstruct.MCTP.Endpoint1"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
#define INTROSPECTABLE_IFACE "org.freedesktop.DBus.Introspectable"
#define MAX_ENDPOINTS 64
#define MAX_TYPES 16
#define PATH_LEN 256

struct fake_service {
	const char *option;
	const char *name;
	const char *root;
	const char *endpoint_fmt; /* root, net, eid */
	bool cc_interface;	  /* also au.com.codeconstruct.MCTP.Endpoint1 */
};

static const struct fake_service services[] = {
    {"codeconstruct", "au.com.codeconstruct.MCTP1", "/au/com/codeconstruct/mctp1",
     "%s/networks/%u/endpoints/%u", true},
    {"openbmc", "xyz.openbmc_project.MCTP", "/xyz/openbmc_project/mctp", "%s/%u/%u", false},
};

struct fake_endpoint {
	uint32_t net;
	uint8_t eid;
	uint8_t types[MAX_TYPES];
	int ntypes;
	char path[PATH_LEN];
};

struct fake {
	const char *address;
	const struct fake_service *svc;
	struct fake_endpoint eps[MAX_ENDPOINTS];
	size_t count;
	int net_type; /* a D-Bus type code, which is also its signature character */
	bool malformed;
	bool stall;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* The fake has no way to degrade gracefully: out of memory ends it. */
static void need(bool ok)
{
	if (!ok) {
		fprintf(stderr, "fake_mctpd: out of memory\n");
		abort();
	}
}

static void append_variant(DBusMessageIter *it, int type, const void *value)
{
	char sig[2] = {(char)type, 0};
	DBusMessageIter var;

	need(dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, sig, &var));
	need(dbus_message_iter_append_basic(&var, type, value));
	need(dbus_message_iter_close_container(it, &var));
}

static void append_bytes_variant(DBusMessageIter *it, const uint8_t *bytes, int n)
{
	DBusMessageIter var, array;

	need(dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, "ay", &var));
	need(dbus_message_iter_open_container(&var, DBUS_TYPE_ARRAY, "y", &array));
	need(dbus_message_iter_append_fixed_array(&array, DBUS_TYPE_BYTE, &bytes, n));
	need(dbus_message_iter_close_container(&var, &array));
	need(dbus_message_iter_close_container(it, &var));
}

/* Appends NetworkId as the configured integer type. */
static void append_net(DBusMessageIter *it, const struct fake *f, uint32_t net)
{
	DBusBasicValue v;

	memset(&v, 0, sizeof(v));
	switch (f->net_type) {
	case DBUS_TYPE_BYTE:
		v.byt = (unsigned char)net;
		break;
	case DBUS_TYPE_UINT16:
		v.u16 = (uint16_t)net;
		break;
	case DBUS_TYPE_INT32:
		v.i32 = (int32_t)net;
		break;
	case DBUS_TYPE_UINT64:
		v.u64 = net;
		break;
	case DBUS_TYPE_INT64:
		v.i64 = net;
		break;
	default:
		v.u32 = net;
	}
	append_variant(it, f->net_type, &v);
}

/*
 * Appends the variant of property @prop of interface @iface of @ep. Returns
 * false when the object has no such property.
 */
static bool append_property(DBusMessageIter *it, const struct fake *f,
			    const struct fake_endpoint *ep, const char *iface, const char *prop)
{
	static const char *available = "Available";
	uint16_t wide_eid = ep->eid;

	if (!strcmp(iface, ENDPOINT_IFACE)) {
		if (!strcmp(prop, "EID") && f->malformed)
			append_variant(it, DBUS_TYPE_UINT16, &wide_eid);
		else if (!strcmp(prop, "EID"))
			append_variant(it, DBUS_TYPE_BYTE, &ep->eid);
		else if (!strcmp(prop, "NetworkId"))
			append_net(it, f, ep->net);
		else if (!strcmp(prop, "SupportedMessageTypes"))
			append_bytes_variant(it, ep->types, ep->ntypes);
		else
			return false;
		return true;
	}
	if (!strcmp(iface, CC_ENDPOINT_IFACE) && f->svc->cc_interface &&
	    !strcmp(prop, "Connectivity")) {
		append_variant(it, DBUS_TYPE_STRING, &available);
		return true;
	}
	return false;
}

/* Returns the NULL-terminated property names @iface has on this service's endpoints. */
static const char *const *property_names(const struct fake *f, const char *iface)
{
	static const char *const endpoint[] = {"EID", "NetworkId", "SupportedMessageTypes", NULL};
	static const char *const cc_endpoint[] = {"Connectivity", NULL};
	static const char *const none[] = {NULL};

	if (!strcmp(iface, ENDPOINT_IFACE))
		return endpoint;
	if (!strcmp(iface, CC_ENDPOINT_IFACE) && f->svc->cc_interface)
		return cc_endpoint;
	return none;
}

/* Appends a{sv}: every property of @iface on @ep (none for other interfaces). */
static void append_all_properties(DBusMessageIter *it, const struct fake *f,
				  const struct fake_endpoint *ep, const char *iface)
{
	const char *const *name = property_names(f, iface);
	DBusMessageIter dict, entry;

	need(dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sv}", &dict));
	for (; *name; name++) {
		need(dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry));
		need(dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, name));
		need(append_property(&entry, f, ep, iface, *name));
		need(dbus_message_iter_close_container(&dict, &entry));
	}
	need(dbus_message_iter_close_container(it, &dict));
}

/* Appends one {s a{sv}} interface entry of @ep. */
static void append_interface(DBusMessageIter *ifaces, const struct fake *f,
			     const struct fake_endpoint *ep, const char *iface)
{
	DBusMessageIter entry;

	need(dbus_message_iter_open_container(ifaces, DBUS_TYPE_DICT_ENTRY, NULL, &entry));
	need(dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &iface));
	append_all_properties(&entry, f, ep, iface);
	need(dbus_message_iter_close_container(ifaces, &entry));
}

/* Appends one {o a{sa{sv}}} object entry, with the standard interfaces as sd-bus lists them. */
static void append_object(DBusMessageIter *objects, const struct fake *f,
			  const struct fake_endpoint *ep)
{
	const char *path = ep->path;
	DBusMessageIter entry, ifaces;

	need(dbus_message_iter_open_container(objects, DBUS_TYPE_DICT_ENTRY, NULL, &entry));
	need(dbus_message_iter_append_basic(&entry, DBUS_TYPE_OBJECT_PATH, &path));
	need(dbus_message_iter_open_container(&entry, DBUS_TYPE_ARRAY, "{sa{sv}}", &ifaces));
	append_interface(&ifaces, f, ep, "org.freedesktop.DBus.Peer");
	append_interface(&ifaces, f, ep, INTROSPECTABLE_IFACE);
	append_interface(&ifaces, f, ep, PROPERTIES_IFACE);
	append_interface(&ifaces, f, ep, ENDPOINT_IFACE);
	if (f->svc->cc_interface)
		append_interface(&ifaces, f, ep, CC_ENDPOINT_IFACE);
	need(dbus_message_iter_close_container(&entry, &ifaces));
	need(dbus_message_iter_close_container(objects, &entry));
}

static DBusMessage *managed_objects(DBusMessage *call, const struct fake *f)
{
	DBusMessage *reply = dbus_message_new_method_return(call);
	DBusMessageIter it, objects;
	size_t i;

	need(reply != NULL);
	dbus_message_iter_init_append(reply, &it);
	need(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &objects));
	for (i = 0; i < f->count; i++)
		append_object(&objects, f, &f->eps[i]);
	need(dbus_message_iter_close_container(&it, &objects));
	return reply;
}

static const struct fake_endpoint *find_endpoint(const struct fake *f, const char *path)
{
	size_t i;

	for (i = 0; path && i < f->count; i++)
		if (!strcmp(f->eps[i].path, path))
			return &f->eps[i];
	return NULL;
}

/* Properties.Get (ss) → v and Properties.GetAll (s) → a{sv} on an endpoint object. */
static DBusMessage *properties(DBusMessage *call, const struct fake *f, bool all)
{
	const struct fake_endpoint *ep = find_endpoint(f, dbus_message_get_path(call));
	const char *iface = NULL, *prop = NULL;
	DBusMessage *reply;
	DBusMessageIter it;
	bool ok =
	    all ? dbus_message_get_args(call, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID)
		: dbus_message_get_args(call, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING,
					&prop, DBUS_TYPE_INVALID);

	if (!ep || !ok)
		return dbus_message_new_error(call, DBUS_ERROR_INVALID_ARGS, "no such object");
	reply = dbus_message_new_method_return(call);
	need(reply != NULL);
	dbus_message_iter_init_append(reply, &it);
	if (all) {
		append_all_properties(&it, f, ep, iface);
	} else if (!append_property(&it, f, ep, iface, prop)) {
		dbus_message_unref(reply);
		return dbus_message_new_error(call, DBUS_ERROR_UNKNOWN_PROPERTY, prop);
	}
	return reply;
}

static DBusMessage *introspect(DBusMessage *call)
{
	static const char *xml = DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE
	    "<node>\n"
	    " <interface name=\"" OBJECT_MANAGER_IFACE "\">\n"
	    "  <method name=\"GetManagedObjects\">\n"
	    "   <arg type=\"a{oa{sa{sv}}}\" direction=\"out\"/>\n"
	    "  </method>\n"
	    " </interface>\n"
	    "</node>\n";
	DBusMessage *reply = dbus_message_new_method_return(call);

	need(reply && dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID));
	return reply;
}

static void handle_call(DBusConnection *conn, DBusMessage *call, const struct fake *f)
{
	const char *path = dbus_message_get_path(call);
	DBusMessage *reply;

	if (dbus_message_is_method_call(call, OBJECT_MANAGER_IFACE, "GetManagedObjects") && path &&
	    !strcmp(path, f->svc->root))
		reply = managed_objects(call, f);
	else if (dbus_message_is_method_call(call, PROPERTIES_IFACE, "GetAll"))
		reply = properties(call, f, true);
	else if (dbus_message_is_method_call(call, PROPERTIES_IFACE, "Get"))
		reply = properties(call, f, false);
	else if (dbus_message_is_method_call(call, INTROSPECTABLE_IFACE, "Introspect"))
		reply = introspect(call);
	else
		reply = dbus_message_new_error(call, DBUS_ERROR_UNKNOWN_METHOD,
					       "fake_mctpd does not implement this");
	need(reply != NULL);
	need(dbus_connection_send(conn, reply, NULL));
	dbus_message_unref(reply);
}

/* Parses "0x00,0x04" into @ep's types. Returns 0 or -EINVAL. */
static int parse_types(const char *list, struct fake_endpoint *ep)
{
	const char *p = list;
	unsigned long type;
	char *end;

	for (ep->ntypes = 0; *p; p = *end ? end + 1 : end) {
		errno = 0;
		type = strtoul(p, &end, 0);
		if (errno || end == p || type > 0xff || (*end && *end != ',') ||
		    ep->ntypes == MAX_TYPES)
			return -EINVAL;
		ep->types[ep->ntypes++] = (uint8_t)type;
	}
	return 0;
}

/* Parses "NET:EID:TYPES". Returns 0 or -EINVAL. */
static int parse_endpoint(const char *arg, struct fake_endpoint *ep)
{
	unsigned long net, eid;
	char *end;

	errno = 0;
	net = strtoul(arg, &end, 0);
	if (errno || end == arg || *end != ':' || net > UINT32_MAX)
		return -EINVAL;
	arg = end + 1;
	eid = strtoul(arg, &end, 0);
	if (errno || end == arg || *end != ':' || eid > 0xff)
		return -EINVAL;
	ep->net = (uint32_t)net;
	ep->eid = (uint8_t)eid;
	return parse_types(end + 1, ep);
}

static const struct fake_service *find_service(const char *option)
{
	size_t i;

	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (!strcmp(services[i].option, option))
			return &services[i];
	return NULL;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: fake_mctpd --address ADDR --service codeconstruct|openbmc\n"
		"                  --endpoint NET:EID:TYPES [--endpoint ...]\n"
		"                  [--network-id-type y|q|u|i|t|x] [--malformed] [--stall]\n");
	return 2;
}

/* Fills @f from the command line. Returns 0 or -EINVAL. */
static int parse_args(int argc, char **argv, struct fake *f)
{
	static const struct option opts[] = {
	    {"address", required_argument, NULL, 'a'},
	    {"service", required_argument, NULL, 's'},
	    {"endpoint", required_argument, NULL, 'e'},
	    {"network-id-type", required_argument, NULL, 'n'},
	    {"malformed", no_argument, NULL, 'm'},
	    {"stall", no_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	f->net_type = DBUS_TYPE_UINT32;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'a')
			f->address = optarg;
		else if (c == 's')
			f->svc = find_service(optarg);
		else if (c == 'e' && f->count < MAX_ENDPOINTS &&
			 !parse_endpoint(optarg, &f->eps[f->count]))
			f->count++;
		else if (c == 'n' && strlen(optarg) == 1 && strchr("yquitx", optarg[0]))
			f->net_type = optarg[0];
		else if (c == 'm')
			f->malformed = true;
		else if (c == 'S')
			f->stall = true;
		else
			return -EINVAL;
	}
	return f->address && f->svc && optind == argc ? 0 : -EINVAL;
}

/* Connects to the bus and takes the service's name. Returns the connection or NULL. */
static DBusConnection *connect_and_own(const struct fake *f)
{
	DBusConnection *conn;
	DBusError e;
	int owned;

	dbus_error_init(&e);
	conn = dbus_connection_open_private(f->address, &e);
	if (conn && dbus_bus_register(conn, &e)) {
		owned = dbus_bus_request_name(conn, f->svc->name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &e);
		if (owned == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
			return conn;
	}
	fprintf(stderr, "fake_mctpd: cannot own %s on %s: %s\n", f->svc->name, f->address,
		dbus_error_is_set(&e) ? e.message : "name taken");
	dbus_error_free(&e);
	if (conn) {
		dbus_connection_close(conn);
		dbus_connection_unref(conn);
	}
	return NULL;
}

static void serve(DBusConnection *conn, const struct fake *f)
{
	DBusMessage *msg;

	while (f->stall && !stop_requested)
		usleep(100 * 1000);
	while (!stop_requested && dbus_connection_read_write(conn, 100)) {
		while ((msg = dbus_connection_pop_message(conn))) {
			if (dbus_message_get_type(msg) == DBUS_MESSAGE_TYPE_METHOD_CALL)
				handle_call(conn, msg, f);
			dbus_message_unref(msg);
		}
	}
}

int main(int argc, char **argv)
{
	static struct fake f;
	struct sigaction sa = {.sa_handler = on_signal};
	DBusConnection *conn;
	size_t i;

	if (parse_args(argc, argv, &f))
		return usage();
	for (i = 0; i < f.count; i++)
		snprintf(f.eps[i].path, sizeof(f.eps[i].path), f.svc->endpoint_fmt, f.svc->root,
			 (unsigned)f.eps[i].net, (unsigned)f.eps[i].eid);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	conn = connect_and_own(&f);
	if (!conn)
		return 1;
	printf("ready\n");
	fflush(stdout);
	serve(conn, &f);
	dbus_connection_close(conn);
	dbus_connection_unref(conn);
	dbus_shutdown();
	return 0;
}
