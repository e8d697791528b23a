import './components/bp-flags-admin';
