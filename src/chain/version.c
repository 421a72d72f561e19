/*
 * version.c: the static version table of version.h.
 *
 * Codes and graph histories are chainweb-format.md sections 8 and 9; genesis
 * targets and payload hashes section 7.  Fork heights and latest behaviour
 * heights are those of chainweb-node's version definitions
 * (src/Chainweb/Version/Mainnet.hs, Testnet04.hs, RecapDevelopment.hs at
 * 5e46fa79f1cc): SlowEpoch, OldTargetGuard, OldDAGuard and
 * SkipFeatureFlagValidation, and latestBehaviorAt = 1 + the highest fork,
 * upgrade or graph-change height (mainnet01: Chainweb231Pact at 6 269 344;
 * testnet04: Chainweb231Pact at 5 783 985; recap-development: Chainweb232Pact
 * at 700).
 *
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
#define GENESIS(g) .genesis = g, .genesis_len = sizeof(g) / sizeof(g[0])

#define MAX_TARGET "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
/* floor(maxTarget / 16): a solution takes 16 BLAKE2s attempts on average. */
#define LOCAL_TARGET "0fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static const cairn_genesis_spec mainnet01_genesis[] = {
	{0, 0, MAX_TARGET, "k1H3DsInAPvJ0W_zPxnrpkeSNdPUT0S9U8bqDLG739o"},
	{1, 1, MAX_TARGET, "kClp_Tw7keCLXMfaCyjH-gToAGmLvRQqiNRmhWUCbxs"},
	{2, 2, MAX_TARGET, "4DVp1dkSLYkFD0zbFF7e5Ba0ezKmnZhEVzlc5ZqqAT0"},
	{3, 3, MAX_TARGET, "fCHKOS9SF9G3Gy5iGZnOmQxjGYf32yM8PklrcBD_dmQ"},
	{4, 4, MAX_TARGET, "cTZ_29TkjXDlG_GlW8iB-va3mofpt_UjthLcOoqtlaQ"},
	{5, 5, MAX_TARGET, "MS_wu92H4GVPCziB6g8rOAc3x2uyegXH4Yl_0TfpI7U"},
	{6, 6, MAX_TARGET, "DVs3k9omI_WHMOJ8tUZ1Bt9Q1DdNmqC3V51iZDGmWwM"},
	{7, 7, MAX_TARGET, "Faa4TQZGFkFumLfHnMIJBAu_PSmGY4F-YraLVFrxr7Y"},
	{8, 8, MAX_TARGET, "YWgbJ4K5VET4WnG3H0Y0HPgzZ_qSnTgqxyB1kpMLJTQ"},
	{9, 9, MAX_TARGET, "w_6Spsw-jdCi9hBTlM6v0C1P7XoglU_AqNG9rcOwAZ0"},
	{10, 19, "000000000000cb73de4be95ba21db5b9178dd85974c194e3ee05717dd8afa830",
		"i-MN4AoxsaPds4M_MzwNSUygAkGnPZoCDvahfckowt4"},
};
static const cairn_genesis_spec testnet04_genesis[] = {
	{0, 0, MAX_TARGET, "nfYm3e_fk2ICws0Uowos6OMuqfFg5Nrl_zqXVx9v_ZQ"},
	{1, 9, MAX_TARGET, "HU-ZhdfsQCiTrfxjtbkr5MHmjoukOt6INqB2vuYiF3g"},
	{10, 19, "000000001b9bf15be43824bae4c4f17722572883f7b53ed2e8c6ba9596249235",
		"HU-ZhdfsQCiTrfxjtbkr5MHmjoukOt6INqB2vuYiF3g"},
};
/* Chains 0-9: maxTarget div 100000. */
static const cairn_genesis_spec recap_development_genesis[] = {
	{0, 0, "0000a7c5ac471b4784230fcf80dc33721d53cddd6e04c059210385c67dfe32a0",
		"5TWTF5R6Vc85vWHqcklTY91ljkV6mJ1wYfDJShooTCw"},
	{1, 9, "0000a7c5ac471b4784230fcf80dc33721d53cddd6e04c059210385c67dfe32a0",
		"yZ6Syxl34TTrGGKxVHInV0S29BH8v-C8VZTbJr2eK2k"},
	{10, 19, "0000088f99632cadf39b0db7655be62cb7dbc84ebbd9a90e5b5756d3e7d9196c",
		"OXFBWONFKY7fTY4MH3GaOOELd_cPCMn9GpIOPBYMsvM"},
};
static const cairn_genesis_spec local_genesis[] = {{0, 19, LOCAL_TARGET, NULL}};

const cairn_version cairn_version_mainnet01 = {
	.name = "mainnet01", .code = 0x00000005, HISTORY(mainnet01_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1572393660000000,
	.latest_behavior_height = 6269345, .has_block_producer = 0,
	GENESIS(mainnet01_genesis), .window = 120,
	.slow_epoch_fork = 80000, .old_target_fork = 452820, .old_da_fork = 771414,
	.fork_state_fork = 530500,
};
const cairn_version cairn_version_testnet04 = {
	.name = "testnet04", .code = 0x00000007, HISTORY(testnet04_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1563388117613832,
	.latest_behavior_height = 5783986, .has_block_producer = 0,
	GENESIS(testnet04_genesis), .window = 120,
	.slow_epoch_fork = 0, .old_target_fork = 0, .old_da_fork = 318204, .fork_state_fork = 0,
};
const cairn_version cairn_version_recap_development = {
	.name = "recap-development", .code = 0x00000001, HISTORY(recap_development_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1563388117613832,
	.latest_behavior_height = 701, .has_block_producer = 0,
	GENESIS(recap_development_genesis), .window = 120,
	.slow_epoch_fork = 0, .old_target_fork = 0, .old_da_fork = 13, .fork_state_fork = 0,
	.fake_first_epoch_start = true,
};
const cairn_version cairn_version_development = {
	.name = "development", .code = 0x00000002, HISTORY(development_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1563388117613832,
	.latest_behavior_height = 1, .has_block_producer = 1,
	GENESIS(local_genesis), .window = 0,
};
const cairn_version cairn_version_test_singleton = {
	.name = "test-singleton", .code = 0x80010000, HISTORY(singleton_graphs),
	.block_delay_us = 30000000, .genesis_time_us = 1563388117613832,
	.latest_behavior_height = 1, .has_block_producer = 1,
	GENESIS(local_genesis), .window = 0,
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

bool cairn_version_is_genesis(const cairn_version *v, uint32_t chain, uint64_t height)
{
	uint64_t genesis = 0;
	return cairn_version_genesis_height(&genesis, v, chain) == CAIRN_OK && genesis == height;
}

int cairn_version_genesis_spec(const cairn_genesis_spec **out, const cairn_version *v, uint32_t chain)
{
	for (size_t i = 0; i < v->genesis_len; i++) {
		if (chain >= v->genesis[i].first_chain && chain <= v->genesis[i].last_chain) {
			*out = &v->genesis[i];
			return CAIRN_OK;
		}
	}
	return cairn_error_set(CAIRN_ENOTFOUND, "chain %u has no genesis block in %s", chain, v->name);
}
