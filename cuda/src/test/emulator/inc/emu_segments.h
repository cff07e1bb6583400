// The segment tables of the emulator's segment programs (segments.cpp, attn_bf16.cpp): segments described by their
// lengths, laid out in flat query and key rows, and the table in the format of org.swiattn.cuda.SegmentTable.
//   segment s: query rows qStart .. +qLen-1 at positions kLen - qLen + i, key rows kStart .. +kLen-1 (bottom-right
//   aligned), kGap unused key rows before them and 3 after the last
//   table [5][n]: qBase = qStart - (kLen - qLen), kStart, kLen, qStart, qLen
#pragma once
#include <algorithm>
#include <vector>

struct Seg {
    int qLen, kLen, kGap;  // kGap: unused key rows before the segment's keys
};
struct SegProblem {
    const char* name;
    std::vector<Seg> segs;
    int Hq, Hkv, D, w;
    double rho;
    bool soft;
    int seed;
};
struct SegLayout {
    int n, qRows, kRows, maxQ, maxK;
    std::vector<int> qStart, kStart, table;
};

// The flat rows and the table of segs (not modified).
inline SegLayout segLayout(const std::vector<Seg>& segs) {
    SegLayout L{(int)segs.size(), 0, 0, 0, 0, {}, {}, {}};
    for (const Seg& s : segs) {
        L.kRows += s.kGap;
        L.qStart.push_back(L.qRows);
        L.kStart.push_back(L.kRows);
        L.qRows += s.qLen;
        L.kRows += s.kLen;
        L.maxQ = std::max(L.maxQ, s.qLen);
        L.maxK = std::max(L.maxK, s.kLen);
    }
    L.kRows += 3;  // trailing cache slots beyond every segment
    L.table.resize(5 * L.n);
    for (int s = 0; s < L.n; s++) {
        const Seg& g = segs[s];
        L.table[s] = L.qStart[s] - (g.kLen - g.qLen);
        L.table[L.n + s] = L.kStart[s];
        L.table[2 * L.n + s] = g.kLen;
        L.table[3 * L.n + s] = L.qStart[s];
        L.table[4 * L.n + s] = g.qLen;
    }
    return L;
}
