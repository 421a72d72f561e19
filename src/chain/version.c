/*
 * version.c: the static version table of version.h.
 *
 * Codes and graph histories are chainweb-format.md section 8 and 9.
 * development and test-singleton are cairn's local networks: they carry the
 * block producer; the others are for reading and importing real data.
 */
#include "chain/version.h"
#include "util/error.h"

#include <string.h>

static const cairn_graph_epoch mainnet01_graphs[] = {
	{0, &cairn_graph_petersen}, {852054, &cairn_graph_twenty}};
static const cairn_graph_epoch testnet04_graphs[] = {
	{0, &cairn_graph_petersen}, {332604, &cairn_graph_twenty}};
static const cairn_graph_epoch recap_development_graphs[] = {
	{0, &cairn_graph_petersen}, {60, &cairn_graph_twenty}};
static const cairn_graph_epoch development_graphs[] = {{0, &cairn_graph_twenty}};
static const cairn_graph_epoch singleton_graphs[] = {{0, &cairn_graph_singleton}};

#define HISTORY(h) h, sizeof(h) / sizeof(h[0])

const cairn_version cairn_version_mainnet01 = {
	.name = "mainnet01", .code = 0x00000005, HISTORY(mainnet01_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1572393660000000,
	.latest_behavior_height = 852055, .has_block_producer = 0,
};
const cairn_version cairn_version_testnet04 = {
	.name = "testnet04", .code = 0x00000007, HISTORY(testnet04_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1563388117613832,
	.latest_behavior_height = 332605, .has_block_producer = 0,
};
const cairn_version cairn_version_recap_development = {
	.name = "recap-development", .code = 0x00000001, HISTORY(recap_development_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1563388117613832,
	.latest_behavior_height = 61, .has_block_producer = 0,
};
const cairn_version cairn_version_development = {
	.name = "development", .code = 0x00000002, HISTORY(development_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1563388117613832,
	.latest_behavior_height = 1, .has_block_producer = 1,
};
const cairn_version cairn_version_test_singleton = {
	.name = "test-singleton", .code = 0x80010000, HISTORY(singleton_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1563388117613832,
	.latest_behavior_height = 1, .has_block_producer = 1,
};

static const cairn_version *const all_versions[] = {
	&cairn_version_development, &cairn_version_mainnet01, &cairn_version_testnet04,
	&cairn_version_test_singleton, &cairn_version_recap_development,
};

#define VERSION_COUNT (sizeof(all_versions) / sizeof(all_versions[0]))

const cairn_version *cairn_version_by_name(const char *name)
{
	for (size_t i = 0; i < VERSION_COUNT; i++)
		if (strcmp(all_versions[i]->name, name) == 0)
			return all_versions[i];
	return NULL;
}

const cairn_version *cairn_version_by_code(uint32_t code)
{
	for (size_t i = 0; i < VERSION_COUNT; i++)
		if (all_versions[i]->code == code)
			return all_versions[i];
	return NULL;
}

const char *cairn_version_supported_names(void)
{
	return "development, mainnet01, testnet04, test-singleton, recap-development";
}

const cairn_graph *cairn_version_graph_at(const cairn_version *v, uint64_t height)
{
	const cairn_graph *g = v->graph_history[0].graph;
	for (size_t i = 1; i < v->graph_history_len; i++)
		if (height >= v->graph_history[i].height)
			g = v->graph_history[i].graph;
	return g;
}

const cairn_graph *cairn_version_latest_graph(const cairn_version *v)
{
	return v->graph_history[v->graph_history_len - 1].graph;
}

int cairn_version_genesis_height(uint64_t *out, const cairn_version *v, uint32_t chain)
{
	for (size_t i = 0; i < v->graph_history_len; i++) {
		if (cairn_graph_has_chain(v->graph_history[i].graph, chain)) {
			*out = v->graph_history[i].height;
			return CAIRN_OK;
		}
	}
	return cairn_error_set(CAIRN_ENOTFOUND, "chain %u does not exist in %s", chain, v->name);
}
