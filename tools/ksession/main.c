/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession: the session daemon's side of kconsumerd from the command line.
 * One table of subcommands; each parses its own options.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kc-config.h"

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct cli_command cli_commands[] = {
	{ "demo", cli_demo,
	  "run kconsumerd on pipe streams fed by producers, verify the trace" },
	{ "record", cli_record,
	  "record kernel events (ftrace) with kconsumerd into a trace.dat" },
	{ "recover", cli_recover,
	  "assemble a trace.dat from the files a killed recording left" },
	{ "list", cli_list,
	  "list the events, trace options and clocks a recording can use" },
};

#define CLI_NCOMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

static void cli_usage(FILE *out)
{
	size_t i;

	fputs("Usage: ksession [-h|--help] [-V|--version] COMMAND [OPTIONS]\n"
	      "\n"
	      "Plays the session daemon of a kconsumerd kernel trace consumer.\n"
	      "\n"
	      "Commands:\n", out);
	for (i = 0; i < CLI_NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", cli_commands[i].name,
				cli_commands[i].summary);
	fputs("\n'ksession COMMAND --help' describes a command's options.\n"
	      "\n"
	      "Exit status: the command's (see its --help); 2 for a usage error.\n",
			out);
}

static const struct cli_command *cli_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < CLI_NCOMMANDS; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct cli_command *cmd;

	if (argc < 2) {
		cli_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		cli_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("ksession %s\n", KC_VERSION);
		return 0;
	}
	cmd = cli_lookup(argv[1]);
	if (!cmd) {
		cli_err("unknown command '%s' (see ksession --help)", argv[1]);
		return 2;
	}
	return cmd->run(argc - 1, argv + 1);
}
