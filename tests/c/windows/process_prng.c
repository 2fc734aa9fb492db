/*
 * TEST ONLY, never shipped: a stand-in bcryptprimitives.dll for Wine 8, whose own
 * lacks ProcessPrng. Rust's standard library (and so lcm_outcome.dll) takes its
 * random bytes from ProcessPrng, which Windows 10 and later export; under Wine 8 the
 * import is unresolved and the process exits before main. Placed beside the test
 * executables, this DLL is loaded instead of Wine's and serves the bytes from
 * RtlGenRandom (advapi32's SystemFunction036), which Wine implements.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -o bcryptprimitives.dll process_prng.c -ladvapi32
 */
#include <windows.h>
#include <ntsecapi.h>

/* Like Windows' ProcessPrng, it never fails: a failure of the system's generator
 * has no safe fallback, so it ends the process rather than return weak bytes. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk)) ExitProcess(70);
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
