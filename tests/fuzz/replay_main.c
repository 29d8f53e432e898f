/*
 * replay_main — runs a libFuzzer harness without libFuzzer: every file of the corpus folder(s)
 * given on the command line, then deterministic mutations of each (bit flips, truncations,
 * byte insertions, length-field smashing), so the corpus is exercised in every test run even
 * where clang's fuzzer runtime is absent. Exits non-zero only if the harness crashes (the
 * sanitizers abort) — which is the point.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t replay_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t replay_next(void)
{
	replay_rng ^= replay_rng << 13;
	replay_rng ^= replay_rng >> 7;
	replay_rng ^= replay_rng << 17;
	return replay_rng;
}

static void replay_mutations(const uint8_t *data, size_t size, unsigned rounds)
{
	uint8_t *m = malloc(size + 16);
	if (!m)
		return;
	for (unsigned i = 0; i < rounds; i++) {
		size_t n = size;
		memcpy(m, data, size);
		switch (replay_next() % 5) {
		case 0: /* flip a few bits */
			for (int k = 0; k < 1 + (int)(replay_next() % 4) && n; k++)
				m[replay_next() % n] ^= (uint8_t)(1u << (replay_next() % 8));
			break;
		case 1: /* truncate */
			n = n ? (size_t)(replay_next() % n) : 0;
			break;
		case 2: /* insert bytes */
			for (int k = 0; k < 4; k++)
				m[n++] = (uint8_t)replay_next();
			break;
		case 3: /* smash a 4-byte window with a huge or negative length */
			if (n >= 4) {
				size_t at = (size_t)(replay_next() % (n - 3));
				static const uint8_t smash[][4] = { { 0x7f, 0xff, 0xff, 0xff },
								    { 0xff, 0xff, 0xff, 0xff },
								    { 0x80, 0, 0, 0 },
								    { 0, 0, 0, 0 } };
				memcpy(m + at, smash[replay_next() % 4], 4);
			}
			break;
		default: /* random byte values */
			for (int k = 0; k < 8 && n; k++)
				m[replay_next() % n] = (uint8_t)replay_next();
			break;
		}
		LLVMFuzzerTestOneInput(m, n);
	}
	free(m);
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	struct stat st;
	if (fstat(fileno(f), &st) || st.st_size > (64 << 20)) {
		fclose(f);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *data = malloc(size ? size : 1);
	if (!data || fread(data, 1, size, f) != size) {
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, size);
	replay_mutations(data, size, 300);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned files = 0;
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		if (!d) {
			if (replay_file(argv[i]) == 0)
				files++;
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (replay_file(path) == 0)
				files++;
		}
		closedir(d);
	}
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	printf("replayed %u corpus files with 300 mutations each\n", files);
	if (files == 0) {
		fprintf(stderr, "no corpus files found\n");
		return 1;
	}
	return 0;
}
