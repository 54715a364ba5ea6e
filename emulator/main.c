/*-------------------------------------------------------------------------
 * main.c
 *	  Command line of aigov-emulator, the LLM provider emulator.
 *
 * aigov-emulator --listen 127.0.0.1:PORT --config FILE [--threads N]
 *                [--pidfile F] [--request-log F]
 *
 * Prints "aigov-emulator listening on HOST:PORT" once it accepts
 * connections, then runs until SIGTERM or SIGINT.
 *
 * IDENTIFICATION
 *	  emulator/main.c
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "server.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: aigov-emulator --listen HOST:PORT --config FILE "
			"[--threads N] [--pidfile FILE] [--request-log FILE]\n");
}

/*
 * Thousands of concurrent connections need thousands of descriptors:
 * raise the soft limit to the hard one.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			fprintf(stderr, "aigov-emulator: could not raise the open file "
					"limit: %s\n", strerror(errno));
	}
}

int
main(int argc, char **argv)
{
	const char *listen = NULL;
	const char *config = NULL;
	const char *pidfile = NULL;
	const char *request_log = NULL;
	int			threads = 0;
	char		host[64];
	char	   *colon;
	char	   *end;
	long		port;
	EmuConfig	cfg;
	char		err[512];
	sigset_t	set;
	int			sig;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		{
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc)
		{
			usage(stderr);
			return 2;
		}
		if (strcmp(a, "--listen") == 0)
			listen = argv[++i];
		else if (strcmp(a, "--config") == 0)
			config = argv[++i];
		else if (strcmp(a, "--pidfile") == 0)
			pidfile = argv[++i];
		else if (strcmp(a, "--request-log") == 0)
			request_log = argv[++i];
		else if (strcmp(a, "--threads") == 0)
		{
			threads = (int) strtol(argv[++i], &end, 10);
			if (*end != '\0' || threads < 1 || threads > 256)
			{
				fprintf(stderr, "aigov-emulator: --threads must be 1..256\n");
				return 2;
			}
		}
		else
		{
			usage(stderr);
			return 2;
		}
	}
	if (listen == NULL || config == NULL)
	{
		usage(stderr);
		return 2;
	}
	colon = strrchr(listen, ':');
	if (colon == NULL || (size_t) (colon - listen) >= sizeof(host))
	{
		fprintf(stderr, "aigov-emulator: --listen must be HOST:PORT\n");
		return 2;
	}
	memcpy(host, listen, (size_t) (colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
	{
		fprintf(stderr, "aigov-emulator: invalid port in \"%s\"\n", listen);
		return 2;
	}
	if (threads == 0)
	{
		long		n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n < 1 ? 1 : (n > 64 ? 64 : (int) n);
	}

	raise_nofile();
	if (!emu_config_load(config, &cfg, err, sizeof(err)))
	{
		fprintf(stderr, "aigov-emulator: %s\n", err);
		return 1;
	}

	if (request_log != NULL)
	{
		int			fd = open(request_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd < 0)
		{
			fprintf(stderr, "aigov-emulator: could not open \"%s\": %s\n",
					request_log, strerror(errno));
			emu_config_free(&cfg);
			return 1;
		}
		emu_server_set_request_log(fd);
	}

	/* every thread inherits this mask; the main thread waits for them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!emu_server_start(&cfg, host, (int) port, threads, err, sizeof(err)))
	{
		fprintf(stderr, "aigov-emulator: %s\n", err);
		return 1;
	}
	if (pidfile != NULL)
	{
		FILE	   *f = fopen(pidfile, "w");

		if (f == NULL)
		{
			fprintf(stderr, "aigov-emulator: could not write \"%s\": %s\n",
					pidfile, strerror(errno));
			emu_server_stop();
			return 1;
		}
		fprintf(f, "%ld\n", (long) getpid());
		fclose(f);
	}
	printf("aigov-emulator listening on %s:%d\n", host, emu_server_port());
	fflush(stdout);

	do
	{
		if (sigwait(&set, &sig) != 0)
			sig = SIGTERM;
	} while (sig != SIGTERM && sig != SIGINT);

	emu_server_stop();
	if (pidfile != NULL)
		unlink(pidfile);
	emu_config_free(&cfg);
	return 0;
}
