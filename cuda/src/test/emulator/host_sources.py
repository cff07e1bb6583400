# Writes host-compilable copies of the CUDA kernel sources (usage: host_sources.py <cuda source dir> <out dir>):
# each function holding inline PTX gets an emulated body (emu_cuda.h), extern shared memory becomes the emulated block.
import os, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
BODIES = {
 'swi_cp_async16(uint32_t': '{ abort(); }',
 'swi_cp_async16(void*': '{ if (srcBytes) memcpy(smem, gmem, 16); else memset(smem, 0, 16); }',
 'swi_cp_async8(': '{ if (srcBytes) memcpy(smem, gmem, 8); else memset(smem, 0, 8); }',
 'swi_cp_async_commit(': '{}',
 'swi_cp_async_wait(': '{}',
 'swi_bar_arrive(': '{ emu_bar_arrive(id); }',
 'swi_bar_sync(': '{ emu_bar_sync(id); }',
 'dmma16x8x4(': '{ emu_mma16x8x4(c, a0, a1, b0); }',
 'dmma16x8x16(': '{ emu_mma16x8x16(c, a, b); }',
}
def patch(s):
    for key, body in BODIES.items():
        i = 0
        while True:
            i = s.find('void ' + key, i)
            if i < 0: break
            # must be a definition: find the '{' after the closing ')' of the parameter list
            j = s.find(')', i); k = s.find('{', j); semi = s.find(';', j)
            if semi < k and s[j+1:semi].strip() == '':  # a call, not a definition
                i += 1; continue
            depth, e = 0, k
            while True:
                if s[e] == '{': depth += 1
                elif s[e] == '}':
                    depth -= 1
                    if depth == 0: break
                e += 1
            s = s[:k] + body + s[e+1:]
            i = k + len(body)
    s = s.replace('extern __shared__ __align__(16) unsigned char smraw[];', 'unsigned char* smraw = emu_smem;')
    return '#include "emu_cuda.h"\n' + s
for f in os.listdir(src):
    if f.endswith(('.cu', '.cuh')):
        open(os.path.join(out, f), 'w').write(patch(open(os.path.join(src, f)).read()))
