import './components/bp-customer-app';
