/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const section_keys[] = {"firmware", "mi", "policy", "socket"};

static int unknown_key(const json_t *doc, char *err, size_t err_len)
{
	const char *key;
	json_t *value;

	json_object_foreach ((json_t *)doc, key, value) {
		/* JSON has no comments: a top-level member named "//..." is one
		 * ("//policy" is a policy commented out; nvmerpcd.json(5)). */
		bool known = strncmp(key, "//", 2) == 0;
		for (size_t i = 0; i < sizeof(section_keys) / sizeof(section_keys[0]); i++)
			known |= strcmp(key, section_keys[i]) == 0;
		if (!known) {
			snprintf(err, err_len, "%s: unknown key (firmware, mi, policy, socket)",
				 key);
			return -EINVAL;
		}
	}
	return 0;
}

/* "group": a name or a number. Returns 0 or -EINVAL. */
static int parse_group(const json_t *value, gid_t *gid, char *err, size_t err_len)
{
	struct group *gr;

	if (json_is_integer(value) && json_integer_value(value) >= 0 &&
	    json_integer_value(value) < (json_int_t)0xFFFFFFFF) {
		*gid = (gid_t)json_integer_value(value);
		return 0;
	}
	gr = json_is_string(value) ? getgrnam(json_string_value(value)) : NULL;
	if (!gr) {
		snprintf(err, err_len, "socket.group: no such group");
		return -EINVAL;
	}
	*gid = gr->gr_gid;
	return 0;
}

/* "mode": an octal string ("0660") within 0777. Returns 0 or -EINVAL. */
static int parse_mode(const json_t *value, mode_t *mode, char *err, size_t err_len)
{
	const char *text = json_string_value(value);
	char *end;
	unsigned long m;

	if (text) {
		errno = 0;
		m = strtoul(text, &end, 8);
		if (!errno && *text && !*end && m <= 0777) {
			*mode = (mode_t)m;
			return 0;
		}
	}
	snprintf(err, err_len, "socket.mode: must be an octal string such as \"0660\"");
	return -EINVAL;
}

static int parse_socket(const json_t *section, struct nr_config *cfg, char *err, size_t err_len)
{
	const char *key;
	json_t *value;
	int rc = 0;

	if (!json_is_object(section)) {
		snprintf(err, err_len, "socket: must be an object");
		return -EINVAL;
	}
	json_object_foreach ((json_t *)section, key, value) {
		if (strcmp(key, "group") == 0) {
			rc = parse_group(value, &cfg->socket_gid, err, err_len);
		} else if (strcmp(key, "mode") == 0) {
			rc = parse_mode(value, &cfg->socket_mode, err, err_len);
		} else {
			snprintf(err, err_len, "socket.%s: unknown key (group, mode)", key);
			rc = -EINVAL;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Without a "socket" section: 0660 root:nvmerpc when the policy names that
 * group (its members must reach the socket), else 0666. */
static void socket_defaults(struct nr_config *cfg)
{
	struct group *gr = getgrnam(NR_SOCKET_GROUP);

	if (gr && nr_policy_names_group(cfg->policy, gr->gr_gid)) {
		cfg->socket_gid = gr->gr_gid;
		cfg->socket_mode = 0660;
	}
}

/* "firmware": {"dir": "/absolute/path"}: where nvme.apply may read images. */
static int parse_firmware(const json_t *section, struct nr_config *cfg, char *err, size_t err_len)
{
	const json_t *dir = json_object_get(section, "dir");
	const char *key;
	json_t *value;

	if (!json_is_object(section)) {
		snprintf(err, err_len, "firmware: must be an object");
		return -EINVAL;
	}
	json_object_foreach ((json_t *)section, key, value) {
		if (strcmp(key, "dir") != 0) {
			snprintf(err, err_len, "firmware.%s: unknown key (dir)", key);
			return -EINVAL;
		}
	}
	if (!json_is_string(dir) || json_string_value(dir)[0] != '/' ||
	    strlen(json_string_value(dir)) != json_string_length(dir)) {
		snprintf(err, err_len, "firmware.dir: must be an absolute path");
		return -EINVAL;
	}
	cfg->firmware_dir = strdup(json_string_value(dir));
	return cfg->firmware_dir ? 0 : -ENOMEM;
}

static int parse_doc(const json_t *doc, const struct nr_schema *schema, struct nr_config *cfg,
		     char *err, size_t err_len)
{
	const json_t *mi = json_object_get(doc, "mi");
	const json_t *socket = json_object_get(doc, "socket");
	int rc;

	if (!json_is_object(doc)) {
		snprintf(err, err_len, "the file must hold a JSON object");
		return -EINVAL;
	}
	rc = unknown_key(doc, err, err_len);
	if (rc == 0 && mi) {
		rc = nr_mi_config_parse(mi, &cfg->mi, err, err_len);
		cfg->mi_text = json_dumps(mi, JSON_COMPACT | JSON_SORT_KEYS);
	}
	if (rc == 0)
		rc = nr_policy_parse(json_object_get(doc, "policy"), schema, &cfg->policy, err,
				     err_len);
	if (rc == 0 && json_object_get(doc, "firmware"))
		rc = parse_firmware(json_object_get(doc, "firmware"), cfg, err, err_len);
	if (rc == 0 && socket)
		rc = parse_socket(socket, cfg, err, err_len);
	else if (rc == 0)
		socket_defaults(cfg);
	return rc;
}

int nr_config_load(const char *file, const struct nr_schema *schema, uint32_t deadline_ms,
		   struct nr_config *cfg, char *err, size_t err_len)
{
	char why[256] = "";
	json_error_t jerr;
	json_t *doc;
	int rc;

	*cfg = (struct nr_config){.socket_gid = (gid_t)-1, .socket_mode = 0666};
	nr_mi_config_init(&cfg->mi, deadline_ms);
	if (!file)
		return nr_policy_parse(NULL, schema, &cfg->policy, err, err_len);
	doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		snprintf(err, err_len, "%s:%d: %s", file, jerr.line, jerr.text);
		return -EINVAL;
	}
	rc = parse_doc(doc, schema, cfg, why, sizeof(why));
	json_decref(doc);
	if (rc) {
		snprintf(err, err_len, "%s: %s", file, why);
		nr_config_fini(cfg);
	}
	return rc;
}

void nr_config_fini(struct nr_config *cfg)
{
	nr_policy_free(cfg->policy);
	free(cfg->mi_text);
	free(cfg->firmware_dir);
	cfg->firmware_dir = NULL;
	cfg->policy = NULL;
	cfg->mi_text = NULL;
}
