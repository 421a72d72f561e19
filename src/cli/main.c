/*
 * main.c: entry point of the `cairn` program; dispatches to a subcommand.
 * With no subcommand (or only flags) it runs `cairn node`.
 */
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

static void print_usage(FILE *out)
{
	fprintf(out,
		"Usage: cairn [COMMAND] [OPTIONS]\n"
		"\n"
		"cairn is a Chainweb-compatible node built around hot, consistent, verifiable\n"
		"backups and a scriptable maintenance API.\n"
		"\n"
		"Commands:\n");
	for (const cairn_command *c = cairn_commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out,
		"\n"
		"Run 'cairn COMMAND --help' for the options of one command.\n"
		"Without a command, cairn runs 'cairn node'; its options follow.\n"
		"\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("cairn %s\n", CAIRN_VERSION);
		return CAIRN_EXIT_OK;
	}
	if (argc >= 2 && argv[1][0] != '-') {
		for (const cairn_command *c = cairn_commands; c->name; c++)
			if (strcmp(argv[1], c->name) == 0)
				return c->run(argc - 1, argv + 1);
		fprintf(stderr, "cairn: unknown command '%s' (see cairn --help)\n", argv[1]);
		return CAIRN_EXIT_USAGE;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		print_usage(stdout);
	/* "cairn [flags]" is "cairn node [flags]"; argv[0] stands in for the name. */
	return cairn_cmd_node(argc, argv);
}
