// vitest loads TypeScript through its own module graph, where require() of a
// .ts file fails: the lazy loaders of src/ get the same modules statically.
import { load } from '../src/cgroups/lazy';
import * as manager from '../src/cgroups/manager';
import * as v1Resources from '../src/cgroups/v1/resources';
import * as v2Resources from '../src/cgroups/v2/resources';
import * as v1Memory from '../src/cgroups/v1/memory';
import * as v1Cpuset from '../src/cgroups/v1/cpuset';
import * as v2Create from '../src/cgroups/v2/create';
import * as v2Memory from '../src/cgroups/v2/memory';

load.manager = () => manager;
load.v1Resources = () => v1Resources;
load.v2Resources = () => v2Resources;
load.v1Memory = () => v1Memory;
load.v1Cpuset = () => v1Cpuset;
load.v2Create = () => v2Create;
load.v2Memory = () => v2Memory;
