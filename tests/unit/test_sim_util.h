/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the simulator's unit tests (test_sim*.c): a default
 * simulator per test, command shortcuts that return the NVMe status.
 * Included by each test executable; everything is static.
 */
#ifndef NR_TEST_SIM_UTIL_H
#define NR_TEST_SIM_UTIL_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libnvme.h>

#include "backends/sim/sim.h"

#define DNR 0x4000u
#define ST(sct, sc) (NR_STATUS(sct, sc) | DNR)
#define ZONE_SIZE 2048u
#define NR_ZONES 4096u
#define WP_NONE UINT64_MAX

static struct nr_sim *sim;
static struct nr_sim_ctrl *ctrl;

static inline void setup_default(void)
{
	cr_assert_eq(nr_sim_new_default(&sim), 0);
	ctrl = nr_sim_ctrl_at(sim, 0);
	cr_assert_not_null(ctrl);
}

static inline void teardown(void)
{
	nr_sim_free(sim);
	sim = NULL;
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline uint16_t submit(struct nr_cmd *cmd)
{
	cr_assert_eq(nr_sim_submit(ctrl, cmd), 0);
	return cmd->status;
}

static inline uint16_t identify(uint8_t cns, uint8_t csi, uint32_t nsid, void *buf)
{
	struct nr_cmd cmd;

	memset(buf, 0xcc, 4096);
	nr_cmd_identify(&cmd, cns, csi, nsid, 0, buf, 4096);
	return submit(&cmd);
}

static inline uint16_t get_log(uint8_t lid, uint32_t nsid, uint64_t offset, void *buf, uint32_t len)
{
	struct nr_cmd cmd;

	nr_cmd_get_log(&cmd, lid, nsid, offset, buf, len);
	return submit(&cmd);
}

static inline uint16_t report(uint32_t nsid, uint64_t slba, enum nr_zrasf filter, bool partial,
			      void *buf, uint32_t len)
{
	struct nr_cmd cmd;

	memset(buf, 0xcc, len);
	nr_cmd_zone_report(&cmd, nsid, slba, filter, partial, false, buf, len);
	return submit(&cmd);
}

static inline uint16_t zsend(uint32_t nsid, uint64_t slba, uint8_t action, bool all)
{
	struct nr_cmd cmd;

	nr_cmd_zone_send(&cmd, nsid, slba, action, all);
	return submit(&cmd);
}

/* Reads one zone's descriptor through an unfiltered partial report. */
static inline struct nvme_zns_desc zone_desc(uint32_t nsid, uint32_t zone, uint64_t zone_size)
{
	uint8_t buf[128];
	struct nvme_zns_desc desc;

	cr_assert_eq(report(nsid, (uint64_t)zone * zone_size, NR_ZRASF_ALL, true, buf, 128), 0);
	memcpy(&desc, buf + 64, sizeof(desc));
	return desc;
}

static inline unsigned zone_state(uint32_t nsid, uint32_t zone, uint64_t zone_size)
{
	return zone_desc(nsid, zone, zone_size).zs >> 4;
}

static inline uint64_t count_zones(uint32_t nsid, enum nr_zrasf filter)
{
	uint8_t buf[64];

	cr_assert_eq(report(nsid, 0, filter, false, buf, sizeof(buf)), 0);
	return le64toh(((struct nvme_zone_report *)buf)->nr_zones);
}

static inline int new_sim_json(const char *text, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *desc = json_loads(text, 0, &jerr);
	int rc;

	cr_assert_not_null(desc, "bad test JSON: %s", jerr.text);
	rc = nr_sim_new_from_json(desc, &sim, err, err_len);
	json_decref(desc);
	if (rc == 0)
		ctrl = nr_sim_ctrl_at(sim, 0);
	return rc;
}

/* Admin command with an optional buffer; the status is returned. */
static inline uint16_t admin(uint8_t opcode, uint32_t nsid, uint32_t cdw10, uint32_t cdw11,
			     enum nr_xfer xfer, void *buf, uint32_t len)
{
	struct nr_cmd cmd = {0};

	cmd.sqe.opcode = opcode;
	cmd.sqe.nsid = nsid;
	cmd.sqe.cdw10 = cdw10;
	cmd.sqe.cdw11 = cdw11;
	cmd.queue = NR_QUEUE_ADMIN;
	cmd.xfer = buf ? xfer : NR_XFER_NONE;
	cmd.data = buf;
	cmd.data_len = len;
	return submit(&cmd);
}

/* Same, returning CDW0 in @result. */
static inline uint16_t admin_res(struct nr_cmd *cmd, uint8_t opcode, uint32_t nsid, uint32_t cdw10,
				 uint32_t cdw11, enum nr_xfer xfer, void *buf, uint32_t len)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->sqe.opcode = opcode;
	cmd->sqe.nsid = nsid;
	cmd->sqe.cdw10 = cdw10;
	cmd->sqe.cdw11 = cdw11;
	cmd->queue = NR_QUEUE_ADMIN;
	cmd->xfer = buf ? xfer : NR_XFER_NONE;
	cmd->data = buf;
	cmd->data_len = len;
	return submit(cmd);
}

static inline void sleep_ms(unsigned ms)
{
	usleep(ms * 1000u);
}

#endif
