// The session and variant questions go out first (lib/start), then the components load.
import './lib/start';
import './components/bp-customer-app';
