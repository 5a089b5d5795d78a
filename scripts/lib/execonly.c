/* The floor for a wrapper that execs its command: a static program that
 * does nothing but execve() its arguments. scripts/bench builds it (musl,
 * static, stripped) and launches `execonly /bin/true` next to keyshim, so
 * what keyshim adds beyond one more exec shows as a multiple of this. */
#include <unistd.h>

int main(int argc, char **argv, char **envp)
{
	if (argc < 2)
		return 64;
	execve(argv[1], argv + 1, envp);
	return 127;
}
