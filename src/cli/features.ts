import { features } from '../runtime/features';
import { writeOut } from './output';

export default function featuresCommand(): number {
  writeOut(JSON.stringify(features(), null, 2) + '\n');
  return 0;
}
