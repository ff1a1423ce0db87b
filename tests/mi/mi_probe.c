/* SPDX-License-Identifier: MIT */
/*
 * mi_probe: drives one MCTP endpoint through libnvme-mi's public API only, so
 * tests can show that the responder speaks what the real library expects,
 * independent of the daemon. Prints one JSON object per step on stdout:
 *
 *   mi_probe [--timeout MS] [--verbose] NET EID [STEP...]
 *
 * Steps (default: health subsys port ctrl_list ctrl_info config identify):
 *   health, health_clear  NVM Subsystem Health Status Poll (Clear Status)
 *   subsys, port, ctrl_list, ctrl_info   Read NVMe-MI Data Structure
 *   config                Configuration Get: SMBus frequency and MCTP MTU
 *   set_freq:N, set_mtu:N, hsc:MASK      Configuration Set
 *   identify              scan, then Identify Controller on the first one
 *   identify_xfer         bytes 4..23 (SN) of Identify through nvme_mi_admin_xfer
 *
 * Each line: {"step":"...","rc":R,"errno":"E",...}. R is libnvme's return:
 * 0, an MI or NVMe status (> 0), or -1 with errno E.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <libnvme-mi.h>

#define DEFAULT_TIMEOUT_MS 1000u
#define SN_OFFSET 4u
#define SN_LEN 20u

static const char *const default_steps[] = {"health",	 "subsys", "port",    "ctrl_list",
					    "ctrl_info", "config", "identify"};

static void print_str(const char *key, const char *s, size_t len)
{
	printf(",\"%s\":\"", key);
	while (len && (s[len - 1] == ' ' || !s[len - 1]))
		len--;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			putchar('\\');
		putchar(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
	}
	putchar('"');
}

/* Starts a step's line with libnvme's result and errno as it was. */
static void begin(const char *step, int rc, int err)
{
	printf("{\"step\":\"%s\",\"rc\":%d,\"errno\":\"%s\"", step, rc,
	       rc < 0 ? strerrorname_np(err) : "");
}

static void end(void)
{
	printf("}\n");
	fflush(stdout);
}

static void step_health(nvme_mi_ep_t ep, bool clear)
{
	struct nvme_mi_nvm_ss_health_status h = {0};
	int rc = nvme_mi_mi_subsystem_health_status_poll(ep, clear, &h);

	begin(clear ? "health_clear" : "health", rc, errno);
	if (!rc)
		printf(",\"nss\":%u,\"sw\":%u,\"ctemp\":%u,\"pdlu\":%u,\"ccs\":%u", h.nss, h.sw,
		       h.ctemp, h.pdlu, le16toh(h.ccs));
	end();
}

static void step_subsys(nvme_mi_ep_t ep)
{
	struct nvme_mi_read_nvm_ss_info s = {0};
	int rc = nvme_mi_mi_read_mi_data_subsys(ep, &s);

	begin("subsys", rc, errno);
	if (!rc)
		printf(",\"nump\":%u,\"mjr\":%u,\"mnr\":%u", s.nump, s.mjr, s.mnr);
	end();
}

static void step_port(nvme_mi_ep_t ep)
{
	struct nvme_mi_read_port_info p = {0};
	int rc = nvme_mi_mi_read_mi_data_port(ep, 0, &p);

	begin("port", rc, errno);
	if (!rc)
		printf(",\"portt\":%u,\"mmctptus\":%u,\"meb\":%u,\"mme_addr\":%u,\"mme_freq\":%u",
		       p.portt, le16toh(p.mmctptus), le32toh(p.meb), p.smb.mme_addr,
		       p.smb.mme_freq);
	end();
}

/* Returns the first CNTLID of the controller list, 0 when there is none. */
static unsigned step_ctrl_list(nvme_mi_ep_t ep)
{
	static struct nvme_ctrl_list list;
	int rc = nvme_mi_mi_read_mi_data_ctrl_list(ep, 0, &list);
	unsigned n = rc ? 0 : le16toh(list.num);

	begin("ctrl_list", rc, errno);
	printf(",\"ids\":[");
	for (unsigned i = 0; i < n && i < NVME_ID_CTRL_LIST_MAX; i++)
		printf("%s%u", i ? "," : "", le16toh(list.identifier[i]));
	printf("]");
	end();
	return n ? le16toh(list.identifier[0]) : 0;
}

static void step_ctrl_info(nvme_mi_ep_t ep, unsigned cntlid)
{
	struct nvme_mi_read_ctrl_info c = {0};
	int rc = nvme_mi_mi_read_mi_data_ctrl(ep, (__u16)cntlid, &c);

	begin("ctrl_info", rc, errno);
	printf(",\"cntlid\":%u", cntlid);
	if (!rc)
		printf(",\"portid\":%u,\"vid\":%u,\"did\":%u,\"ssvid\":%u,\"ssid\":%u", c.portid,
		       le16toh(c.vid), le16toh(c.did), le16toh(c.ssvid), le16toh(c.ssid));
	end();
}

static void step_config(nvme_mi_ep_t ep)
{
	enum nvme_mi_config_smbus_freq freq = 0;
	__u16 mtu = 0;
	int rc = nvme_mi_mi_config_get_smbus_freq(ep, 0, &freq);
	int rc2 = rc ? rc : nvme_mi_mi_config_get_mctp_mtu(ep, 0, &mtu);

	begin("config", rc2, errno);
	if (!rc2)
		printf(",\"smbus_freq\":%u,\"mtu\":%u", (unsigned)freq, mtu);
	end();
}

static void step_set(nvme_mi_ep_t ep, const char *step)
{
	unsigned long v = strtoul(strchr(step, ':') + 1, NULL, 0);
	int rc;

	if (!strncmp(step, "set_freq:", 9))
		rc = nvme_mi_mi_config_set_smbus_freq(ep, 0, (enum nvme_mi_config_smbus_freq)v);
	else if (!strncmp(step, "set_mtu:", 8))
		rc = nvme_mi_mi_config_set_mctp_mtu(ep, 0, (__u16)v);
	else
		rc = nvme_mi_mi_config_set_health_status_change(ep, (__u32)v);
	begin(step, rc, errno);
	end();
}

static nvme_mi_ctrl_t first_ctrl(nvme_mi_ep_t ep)
{
	if (nvme_mi_scan_ep(ep, false))
		return NULL;
	return nvme_mi_first_ctrl(ep);
}

static void step_identify(nvme_mi_ep_t ep)
{
	static struct nvme_id_ctrl id;
	nvme_mi_ctrl_t ctrl = first_ctrl(ep);
	int rc = ctrl ? nvme_mi_admin_identify_ctrl(ctrl, &id) : -1;

	begin("identify", rc, errno);
	if (!rc) {
		printf(",\"cntlid\":%u,\"vid\":%u", le16toh(id.cntlid), le16toh(id.vid));
		print_str("sn", id.sn, sizeof(id.sn));
		print_str("mn", id.mn, sizeof(id.mn));
		print_str("fr", id.fr, sizeof(id.fr));
	}
	end();
}

/* Identify Controller through the raw tunnel with a data window, which
 * exercises DOFF/DLEN: only the serial number comes back. */
static void step_identify_xfer(nvme_mi_ep_t ep)
{
	static struct {
		struct nvme_mi_admin_resp_hdr hdr;
		char data[SN_LEN];
	} resp;
	struct nvme_mi_admin_req_hdr req = {0};
	nvme_mi_ctrl_t ctrl = first_ctrl(ep);
	size_t len = SN_LEN;
	int rc = -1;

	req.opcode = nvme_admin_identify;
	req.cdw10 = htole32(NVME_IDENTIFY_CNS_CTRL);
	if (ctrl)
		rc = nvme_mi_admin_xfer(ctrl, &req, 0, &resp.hdr, SN_OFFSET, &len);
	begin("identify_xfer", rc, errno);
	if (!rc) {
		printf(",\"status\":%u,\"cdw3\":%u,\"len\":%zu", resp.hdr.status,
		       le32toh(resp.hdr.cdw3), len);
		print_str("sn", resp.data, len);
	}
	end();
}

static void run_step(nvme_mi_ep_t ep, const char *step)
{
	if (!strcmp(step, "health") || !strcmp(step, "health_clear"))
		step_health(ep, !strcmp(step, "health_clear"));
	else if (!strcmp(step, "subsys"))
		step_subsys(ep);
	else if (!strcmp(step, "port"))
		step_port(ep);
	else if (!strcmp(step, "ctrl_list"))
		step_ctrl_list(ep);
	else if (!strcmp(step, "ctrl_info"))
		step_ctrl_info(ep, step_ctrl_list(ep));
	else if (!strcmp(step, "config"))
		step_config(ep);
	else if (strchr(step, ':'))
		step_set(ep, step);
	else if (!strcmp(step, "identify"))
		step_identify(ep);
	else if (!strcmp(step, "identify_xfer"))
		step_identify_xfer(ep);
	else
		fprintf(stderr, "mi_probe: unknown step %s\n", step);
}

int main(int argc, char **argv)
{
	unsigned timeout = DEFAULT_TIMEOUT_MS;
	int level = LOG_WARNING, i = 1;
	nvme_root_t root;
	nvme_mi_ep_t ep;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--verbose"))
			level = LOG_DEBUG;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: %s [--timeout MS] [--verbose] NET EID [STEP...]\n",
			argv[0]);
		return 2;
	}
	root = nvme_mi_create_root(stderr, level);
	ep = root ? nvme_mi_open_mctp(root, (unsigned)strtoul(argv[i], NULL, 0),
				      (uint8_t)strtoul(argv[i + 1], NULL, 0))
		  : NULL;
	begin("open", ep ? 0 : -1, errno);
	end();
	if (!ep || nvme_mi_ep_set_timeout(ep, timeout)) {
		nvme_mi_free_root(root);
		return 1;
	}
	for (int s = i + 2; s < argc; s++)
		run_step(ep, argv[s]);
	for (size_t s = 0; argc - i == 2 && s < sizeof(default_steps) / sizeof(*default_steps); s++)
		run_step(ep, default_steps[s]);
	nvme_mi_free_root(root);
	return 0;
}
