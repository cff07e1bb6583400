package org.swiattn.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.swiattn.spec.Route;

/** Host compaction (the checker of the GPU kernel): sorted lists that partition each batch row. No GPU. */
class RouteCompactionTest {

    static Route randomRoute(SplittableRandom rnd, int b, int s, double rho) {
        boolean[] z = new boolean[b * s];
        for (int r = 0; r < z.length; r++) {
            z[r] = rnd.nextDouble() < rho;
        }
        return Route.ofMask(b, s, z);
    }

    @Test
    void listsAreSortedAndPartitionEveryBatchRow() {
        SplittableRandom rnd = new SplittableRandom(11);
        int checked = 0;
        for (int trial = 0; trial < 200; trial++) {
            int b = 1 + rnd.nextInt(3);
            int s = 1 + rnd.nextInt(3000);
            double rho = new double[] {0, 1, 0.1, 0.5, 0.9}[trial % 5];
            Route route = randomRoute(rnd, b, s, rho);
            RouteCompaction.HostLists h = RouteCompaction.onHost(route);
            for (int bb = 0; bb < b; bb++) {
                assertThat(h.nF()[bb] + h.nW()[bb]).isEqualTo(s);
                boolean[] seen = new boolean[s];
                int prev = -1;
                for (int n = 0; n < h.nF()[bb]; n++) {
                    int i = h.listF()[bb * s + n];
                    assertThat(i).isGreaterThan(prev);
                    assertThat(route.isFull(bb, i)).isTrue();
                    seen[i] = true;
                    prev = i;
                }
                prev = -1;
                for (int n = 0; n < h.nW()[bb]; n++) {
                    int i = h.listW()[bb * s + n];
                    assertThat(i).isGreaterThan(prev);
                    assertThat(route.isFull(bb, i)).isFalse();
                    assertThat(seen[i]).isFalse();
                    seen[i] = true;
                    prev = i;
                }
                for (boolean x : seen) {
                    assertThat(x).isTrue();
                }
                checked++;
            }
        }
        assertThat(checked).isGreaterThanOrEqualTo(200);
    }

    @Test
    void maskBytesFollowTheRoute() {
        Route r = Route.ofMask(2, 3, new boolean[] {true, false, false, false, true, true});
        assertThat(RouteCompaction.maskBytes(r)).containsExactly(1, 0, 0, 0, 1, 1);
    }
}
