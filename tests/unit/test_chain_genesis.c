/* Unit tests for chain/genesis and chain/version: the genesis headers built
 * from the version definitions have Chainweb's hashes (mainnet01,
 * testnet04 and recap-development, all chains), and cairn's local networks
 * get complete, consistent genesis blocks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "chain/genesis.h"
#include "util/base64url.h"
#include "util/error.h"

static void assert_b64(const uint8_t hash[CAIRN_HASH_LEN], const char *expected)
{
	char text[44];
	cairn_base64url_encode(text, hash, CAIRN_HASH_LEN);
	assert_string_equal(text, expected);
}

/* chainweb-format.md section 7 (and test/golden/mainnet01-block-hashes-expected.txt). */
static const char *const mainnet01_hashes[20] = {
	"SNAMXHBvZtAbeS19x12bZV2p5d1E4BaxrggceNdUxbw", "aVFFqF8PbGu-MZkUhb1Ok4XijgxWUYxBxigBQgZmDFI",
	"Isgjp62lHk0uXgQfu_HZoeuP3udIiwkBlq1hHvXqXCM", "tMyy7k6lrQOsGg2oXh20kOC3zudjwsaL9F5Ogx0XNBo",
	"yeWKDE27xM45-LgdwpnVMM6E4pAoYryRrJJFgRiaKgQ", "GmCgnnxUtn08N8WtL8Gpn3Hg6AKyP4q0W0u3NLZn0Zo",
	"OXehM2W5YuiV0iWlDGIPMdaRv721zMUbj3caJqZJNBU", "CAfkqtRJpdf3rNSKx0SRwgaJlSUBLXwF1OMjn2-eBps",
	"09qk9ulwtq854ogJwlDZKN7NC_Q3lqiy1jdD0_YvWMI", "5cwptPDy7u6aMS221qsCr93g6ifDr0WUyvoKhi59-PA",
	"IQyS92QncmVLSPGiwn2taPayS42F5c3EjjL0DUr7keA", "G0NiGwj1bY2jYnpJ8aL4IJnsNeOLeb-7HD7AhFnrG_k",
	"OOKvNXgjfmcNzIlcIxAWKZuwEwjLS3Vod-mkhlCRCBY", "9PWw97t5czKEiK92LGFK9LkBToPB8A0AvPpoMmXLEoM",
	"55Z7RjqtyrZEoxUaZoB4aJIoA0j8ltkwcuAyprdXCng", "gd0FXTl4xqWjybxo4iWcBSZVJ53jV0noteLVwqIh6jA",
	"ZEulY-ffmUaS4JevaWy113CRTch_-Iu2LVDB2nN2xTM", "7Dop3iLs0VfejT2a8z3OkTfmGeT-_Soxr33TGr-bGMI",
	"nxSSt7WSfUaxQMmYIjdaoU-EgUHxYUtF449T3K2_Iw0", "y76dr78dPJlFDMPzCc-aEz97iRyimv5Ij3psdVlC64c",
};

static const char *const mainnet01_parents[20] = {
	"wJ6fVF6_vrzfemqQsWB6nCzfrMwznbZscn53-0DpAcI", "yHLfrqsKhw-qcg8fj3Z97cn9wxKHMdDCLIFUxPlGcoU",
	"fJB-vS9h7ByxNHY19WqM8icji9CcATiXn48uouHAMzs", "UsNRCUkMKQBRDVIv0JLDfDllYNg2QO0EXaWcRfMQ6g0",
	"Ou6kxMXpuwpm9uiIVhiEFHSbTdhanjHyiEh2G0EZV_w", "dTLm0UrocvMNjjz_TMUbWqpZhuBBht_JoNqZpCliaS8",
	"BQeojaqG63-R_1bILrd0LI6kDkS74hNBB0Bs3Y211bA", "B4UgvswV3ewRwVSd8H3wqQYs1hxTf9rZw-SNCtozhUY",
	"4vXzHYljimKCyhEZoUaJ_g3gN9wTOmHe7KtsKmldrRA", "LL-hwv-nsbhPek0KZ8rFax1pNooYTVqknuHXT3ygsug",
	"QGPuG9FMAW15eqGOWSGcDna32l8oBnYFmvVBwHFNrg4", "sqi0qzCSDiFxvdTQjrDBl5Xd5K1FgCVj3pDuISWp29g",
	"BbTy_6rcTYg72T_aX2UVgg6xZ3bCZaSNrzQ4GEQGG-w", "mM5sJ71WqMbw6MLfRBpeQObLW8YGrbO7UhOU9pKqJcg",
	"fRsMyVRCbaVQCil6luY_f2vYif3-UW2bpT7CKc0xsLc", "fGAzoKG8e3vQCuYBNxJufwPjZyuWb6Nn_1L2AOWXA_8",
	"kVGM_HonVH6n_woSkWdEQFtOG0r3XJGz574EgtyRMqI", "jOkRJZtNbNHBQamvpl9lEfAA4YMXuQi5EMG6NvnQus4",
	"uNzV6l3JEfRSbG8xI-W7dexgUR3RRbdpDzdfrJKyaZ8", "az5Y9U7gziz1nghnTMCR9pqZHApM5bqoqoU-PhWdrCU",
};

/* chainweb-node test/golden/testnet04-block-hashes-expected.txt. */
static const char *const testnet04_hashes[20] = {
	"r21zg8E011awAbEghzNBOI4RtKUZ-wHLkUwio-5dKpE", "V1eZWhoceIl7vmfn5h3U4HvpGSs9Nd66ISgKNMLmi_0",
	"FMsDXwQ2OS0NYmDwQsXR4rPyKA9oxJR2XK2OppSCD8E", "tqjIgeqKe6q-BM4PeNmjHFgKHIWAziJxcgnrOuYInoc",
	"9oYwQo4x9xiCzlUzrmG0LOQW_rS3zRB4MtiOgpZmoMQ", "wXSuR_3WBkrdEV4proOm1YS4pBiX4uZI_KrNQfr24ls",
	"87afzutvMr9I2oZowgQbWBG8VJsN5rWtDB8SU19YaTA", "0fnoDkGf2KaY1SBwhrBD_2eXEUlrytKOXTWY0wNZ534",
	"hfRjRAhE8Fn8WJNz0R8Ku-W72RdzgQVXJDvzz5hIi_Q", "sM9OUZFlk4GHkBaW3dYG4LsU4TQslPzG6FkO0gr6Kro",
	"lTpiG_9bLbyKp7hmWq8M3jwkCtRUREhWW3nyU1YJAV4", "UQ2pi14AbFoY2uRN6a_LLgFQR-o0NpYAEMBlv-6wYys",
	"dRH0yn5kXKnt7gGqJIzQipsIbqkxNDs2RreNYNfknTU", "rF1wm-g3QbhPRmsEZZncHxAq0BHsGveN3Tc2gJvi2Ag",
	"zz3XKGns0zhrn3sUo9hul3JA9E_rwYJbDhs54ClQsJ0", "Xg5YrIrW8i2Bw2yaK0Hw5qFBNQv5NA5v78Zj5bhXDeI",
	"z8gMvZAtnm4ejpgtkiB5KuMgGs9XtrysVJprGdoHbUQ", "tOerMVBv5NcJjh4c40W22FZ89poibtBlz-yQl4NM7lw",
	"VsDfA3fyhpKdPR-KWzBARmh5htuBLnQe7ZXcLIphSaw", "ScaDZyeTNseqh6bdbG0bu_2BT83afeMrR9pxf68T8rw",
};

/* chainweb-node test/golden/recap-development-block-hashes-expected.txt. */
static const char *const recap_development_hashes[20] = {
	"I44qr9WzXAwKaBL_cOdhLC9PKB0Jmo0dIuMXUz3Q4ws", "LHOg2z-LlJYKpbPqyPtmmPtt52TsJZw98-8Yqa6z3mY",
	"tMZtszaMwDE8ZBkZ63wbTmuL3R32bH1pVH6BCxO-KTA", "KzOGhVdvZrAJnsyd94qVrt2y9JelNFGI36k5qzFPovM",
	"Dgkcz1vTanUkii3ytBTjxospbVctGauWbFITQTf_7RU", "QBgdPHASVl5DMiTTkCpo9aYzq5BcuQOAjNNh4ddfOaA",
	"ul5HX4I4gzLgiT5ZIcv6to9vd0NieNiF0gtXV56u9aQ", "vcCyL7Q3hrNMdIH3ugomHcKgzkzKIC9-53X_sSiGpm0",
	"dglsXm0bcrHzXSPnAbRGmSMrSxjR8hgecb9tuHmI9o4", "Uqb6NvnmsDKUf1nRKNB6ogZVQGT75lebfyHPMgq6IYk",
	"pKCVftcctJ0SM_3h9vTuMKFo-eDnZB9qVnnpgMzW5Hg", "3RPSalWuswFQJegbeEvrizAeQC6wxUJ9UtqM3xMkZBE",
	"RpN2i3kNWkh0Dm7gLvhX3YlkruLXA-s4La5W831CRao", "KwQ8VlmijrLd8diO5Ipy2H89hKhKDJQ3TC3al7vRrdQ",
	"IfaxAeTGndKZqBb_0emJlkBYt4r5x-h8AFTH-hFjQKk", "KMgFuiEt8hVL5FjjXw4pRmjI5FtgZ0W7loGRkOBZP5Y",
	"_agbXYJt3-uklho_gSJBgIxxyHLMy_BtV_cvObxvmUY", "C9luSkCJOC6g8lpKzDD56YJuKqQQLXR3PbOaPEgTIwA",
	"ftB18G_4NdWDC6LYulkocXWPAkThii9nvsEDsP9Lzk4", "GWe3oNkU1tWHvW_qzJGJ1eS5g-6wZRIIzhj25oF5Tvk",
};

static void check_version_hashes(const cairn_version *v, const char *const expected[20])
{
	for (uint32_t c = 0; c < 20; c++) {
		cairn_header h;
		assert_int_equal(cairn_genesis_header(&h, v, c), CAIRN_OK);
		assert_b64(h.hash, expected[c]);
		uint8_t again[CAIRN_HASH_LEN];
		assert_int_equal(cairn_header_compute_hash(again, &h), CAIRN_OK);
		assert_memory_equal(again, h.hash, CAIRN_HASH_LEN);
	}
}

static void test_mainnet01_genesis(void **state)
{
	(void)state;
	const cairn_version *v = &cairn_version_mainnet01;
	check_version_hashes(v, mainnet01_hashes);
	for (uint32_t c = 0; c < 20; c++) {
		uint8_t parent[CAIRN_HASH_LEN];
		cairn_genesis_parent(parent, v->code, c);
		assert_b64(parent, mainnet01_parents[c]);
		cairn_header h;
		assert_int_equal(cairn_genesis_header(&h, v, c), CAIRN_OK);
		assert_memory_equal(h.parent, parent, CAIRN_HASH_LEN);
		assert_int_equal(h.height, c < 10 ? 0 : 852054);
		assert_int_equal(h.adjacent_count, 3);
		/* chains 0-9 keep petersen adjacents at height 0, chains 10-19 twenty */
		const cairn_graph *g = c < 10 ? &cairn_graph_petersen : &cairn_graph_twenty;
		for (int i = 0; i < 3; i++)
			assert_int_equal(h.adjacents[i].chain, cairn_graph_adjacents(g, c)[i]);
	}
	cairn_header h;
	assert_int_equal(cairn_genesis_header(&h, v, 0), CAIRN_OK);
	assert_b64(h.payload_hash, "k1H3DsInAPvJ0W_zPxnrpkeSNdPUT0S9U8bqDLG739o");
	assert_int_equal(h.creation_time_us, 1572393660000000);
	assert_int_equal(cairn_genesis_header(&h, v, 20), CAIRN_ENOTFOUND);
	cairn_payload p;
	assert_int_equal(cairn_genesis_payload(&p, v, 0), CAIRN_ENOTFOUND);
}

static void test_testnet04_and_recap_genesis(void **state)
{
	(void)state;
	check_version_hashes(&cairn_version_testnet04, testnet04_hashes);
	check_version_hashes(&cairn_version_recap_development, recap_development_hashes);
	uint8_t parent[CAIRN_HASH_LEN];
	cairn_header h;
	assert_int_equal(cairn_genesis_header(&h, &cairn_version_testnet04, 15), CAIRN_OK);
	cairn_genesis_parent(parent, 7, 15);
	assert_memory_equal(h.parent, parent, CAIRN_HASH_LEN);
	assert_int_equal(h.height, 332604);
}

static void test_local_networks(void **state)
{
	(void)state;
	const cairn_version *v = &cairn_version_development;
	uint8_t previous[CAIRN_HASH_LEN] = {0};
	for (uint32_t c = 0; c < 20; c++) {
		cairn_header h;
		cairn_payload p;
		assert_int_equal(cairn_genesis_header(&h, v, c), CAIRN_OK);
		assert_int_equal(cairn_genesis_payload(&p, v, c), CAIRN_OK);
		assert_memory_equal(h.payload_hash, p.hashes.payload, CAIRN_HASH_LEN);
		assert_int_equal(cairn_payload_verify(&p, h.payload_hash), CAIRN_OK);
		assert_int_equal(p.tx_count, 0);
		assert_memory_not_equal(previous, p.hashes.payload, CAIRN_HASH_LEN);
		memcpy(previous, p.hashes.payload, CAIRN_HASH_LEN);
		assert_int_equal(h.target[31], 0x0f);
		assert_int_equal(h.target[0], 0xff);
		assert_true(cairn_version_is_genesis(v, c, 0));
		assert_false(cairn_version_is_genesis(v, c, 1));
		cairn_payload_free(&p);
	}
	cairn_header h;
	assert_int_equal(cairn_genesis_header(&h, &cairn_version_test_singleton, 0), CAIRN_OK);
	assert_int_equal(h.adjacent_count, 0);
	assert_int_equal(cairn_header_binary_size(&h), 210);
	assert_int_equal(cairn_genesis_header(&h, &cairn_version_test_singleton, 1), CAIRN_ENOTFOUND);
}

static void test_version_data(void **state)
{
	(void)state;
	assert_int_equal(cairn_version_mainnet01.latest_behavior_height, 6269345);
	assert_int_equal(cairn_version_testnet04.latest_behavior_height, 5783986);
	assert_int_equal(cairn_version_mainnet01.window, 120);
	assert_int_equal(cairn_version_development.window, 0);
	const cairn_genesis_spec *spec;
	assert_int_equal(cairn_version_genesis_spec(&spec, &cairn_version_mainnet01, 13), CAIRN_OK);
	assert_string_equal(spec->payload_hash, "i-MN4AoxsaPds4M_MzwNSUygAkGnPZoCDvahfckowt4");
	assert_true(cairn_version_is_genesis(&cairn_version_mainnet01, 13, 852054));
	assert_false(cairn_version_is_genesis(&cairn_version_mainnet01, 3, 852054));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mainnet01_genesis),
		cmocka_unit_test(test_testnet04_and_recap_genesis),
		cmocka_unit_test(test_local_networks),
		cmocka_unit_test(test_version_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
